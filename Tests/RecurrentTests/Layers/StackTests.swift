import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// The stack against the Double reference, finite differences, lengths and streaming.
final class StackTests: XCTestCase {
    struct Setup {
        let stack: RecurrentStack
        let arena: ParameterArena
        let b: Int, t: Int
        let x: TestBuffer, s0: TestBuffer
    }

    /// Every registered kind, and LSTM with projections (P = 3 < H = 5).
    static let variants: [(CellKind, Int?)] = CellKind.allCases.map { ($0, nil) } + [(.lstm, 3)]

    func makeSetup(_ kind: CellKind, projected: Int? = nil, layers: Int, bidirectional: Bool, b: Int = 3, t: Int = 5,
                   d: Int = 4, h: Int = 5, dropout: Float = 0, weightDrop: Float = 0, seed: UInt64 = 21) throws -> Setup {
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: kind, inputSize: d, hiddenSize: h, projectedSize: projected, layers: layers,
                                       bidirectional: bidirectional, dropout: dropout, weightDrop: weightDrop, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: seed)
        return Setup(stack: stack, arena: arena, b: b, t: t, x: TestBuffer(randomArray(b * t * d, seed: seed + 1)),
                     s0: TestBuffer(randomArray(stack.stateCount(batch: b), seed: seed + 2, scale: 0.5)))
    }

    /// Our outputs and final states, and the reference's, for every row.
    func compareWithReference(_ su: Setup, lengths: [Int32]?) -> Double {
        let (stack, b, t) = (su.stack, su.b, su.t)
        let (d, h, s, dirs) = (stack.inputSize, stack.hiddenSize, stack.stateSize, stack.directions)
        var y = [Float](repeating: 0, count: b * t * stack.outputSize)
        var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
        var rng = SeededGenerator(seed: 0)
        stack.forward(input: su.x.pointer, batch: b, steps: t, lengths: lengths, initialState: su.s0.pointer, output: &y,
                      finalState: &sT, rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
        let reference = ReferenceRecurrent(stack: stack, arena: su.arena)
        var worst = 0.0
        for r in 0..<b {
            let xr = (0..<t).map { step in (0..<d).map { Double(su.x.pointer[(r * t + step) * d + $0]) } }
            let states = (0..<(stack.layers * dirs)).map { i -> (h: [Double], c: [Double]) in
                let base = (i * b + r) * s
                let hh = (0..<h).map { Double(su.s0.pointer[base + $0]) }
                let cc = s > h ? (0..<h).map { Double(su.s0.pointer[base + h + $0]) } : []
                return (hh, cc)
            }
            let n = lengths.map { Int($0[r]) } ?? t
            let ref = reference.run(x: xr, length: n, states: states)
            for step in 0..<t {
                for j in 0..<stack.outputSize {
                    worst = max(worst, abs(ref.y[step][j] - Double(y[(r * t + step) * stack.outputSize + j])))
                }
            }
            for i in 0..<(stack.layers * dirs) {
                let base = (i * b + r) * s
                for j in 0..<h { worst = max(worst, abs(ref.states[i].h[j] - Double(sT[base + j]))) }
                if s > h {
                    for j in 0..<h { worst = max(worst, abs(ref.states[i].c[j] - Double(sT[base + h + j]))) }
                }
            }
        }
        return worst
    }

    func testForwardMatchesReferenceForEveryCellDirectionAndDepth() throws {
        for kind in CellKind.allCases {
            for layers in [1, 2] {
                for bidirectional in [false, true] {
                    let su = try makeSetup(kind, layers: layers, bidirectional: bidirectional)
                    let worst = compareWithReference(su, lengths: nil)
                    XCTAssertLessThan(worst, 1e-5, "\(kind) L\(layers) bi \(bidirectional): largest difference \(worst)")
                    let ragged = compareWithReference(su, lengths: [5, 2, 0])
                    XCTAssertLessThan(ragged, 1e-5, "\(kind) L\(layers) bi \(bidirectional) with lengths: \(ragged)")
                }
            }
        }
    }

    /// ∂ of every weight, bias, input and initial state against finite differences.
    func checkGradients(_ su: Setup, lengths: [Int32]?, training: Bool = false) -> GradientChecker.Report {
        // Layer norm divides by the spread of W_hh·h, small when h is: the central differences'
        // error (∝ ε²) is large at the usual step — at ε = 1e-2 one entry reads 16.8 for an
        // analytic 4.64, at 1e-3 4.76 (error ÷ 100, as ε² says) — so the step is smaller and the
        // relative tolerance wider (a smaller step drowns small gradients in float32 rounding).
        let normalized = [CellKind.lnlstm, .lngru].contains(su.stack.kind)
        let (stack, b, t) = (su.stack, su.b, su.t)
        let ws = RecurrentStackWorkspace()
        var y = [Float](repeating: 0, count: b * t * stack.outputSize)
        var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
        let wy = randomArray(y.count, seed: 31), wsT = randomArray(sT.count, seed: 32)
        func loss() -> Double {
            var rng = SeededGenerator(seed: 77)   // the same dropout masks every time
            stack.forward(input: su.x.pointer, batch: b, steps: t, lengths: lengths, initialState: su.s0.pointer, output: &y,
                          finalState: &sT, training: training, rng: &rng, workspace: ws, arena: su.arena)
            var l = 0.0
            for i in y.indices { l += Double(wy[i] * y[i]) }
            for i in sT.indices { l += Double(wsT[i] * sT[i]) }
            return l
        }
        _ = loss()
        su.arena.zeroGradients()
        var dx = [Float](repeating: 0, count: b * t * stack.inputSize)
        var ds0 = [Float](repeating: 0, count: sT.count)
        stack.backward(input: su.x.pointer, batch: b, steps: t, lengths: lengths, outputGradient: wy, finalStateGradient: wsT,
                       inputGradient: &dx, initialStateGradient: &ds0, workspace: ws, arena: su.arena)
        let checker = normalized ? GradientChecker(epsilon: 1e-3, relativeTolerance: 4e-2, entriesPerTensor: 12)
            : GradientChecker(entriesPerTensor: 12)
        var report = checker.check(su.arena, loss: loss)
        report.merge(checker.check("input", values: su.x.pointer, analytic: dx, loss: loss))
        report.merge(checker.check("initial state", values: su.s0.pointer, analytic: ds0, loss: loss))
        return report
    }

    func testGradientsForEveryCellDirectionAndDepth() throws {
        for (kind, projected) in [(CellKind.lstm, nil), (.gru, nil), (.rnnTanh, nil), (.lstm, 3), (.lnlstm, nil), (.lngru, nil)] {
            for layers in [1, 2] {
                for bidirectional in [false, true] {
                    let su = try makeSetup(kind, projected: projected, layers: layers, bidirectional: bidirectional)
                    let report = checkGradients(su, lengths: nil)
                    XCTAssertTrue(report.passed, "\(kind) L\(layers) bi \(bidirectional): \(report)")
                    let ragged = checkGradients(su, lengths: [3, 5, 1])
                    XCTAssertTrue(ragged.passed, "\(kind) L\(layers) bi \(bidirectional) lengths: \(ragged)")
                }
            }
        }
    }

    func testGradientsWithDropout() throws {
        let su = try makeSetup(.lstm, layers: 3, bidirectional: true, dropout: 0.3)
        let report = checkGradients(su, lengths: nil, training: true)
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// The weight drop's masks, W_hh's gradient through them, and the rest, against finite
    /// differences (the same seed, so the same masks, for every evaluation of the loss).
    func testGradientsWithWeightDrop() throws {
        for (kind, layers, bidirectional, dropout) in [(CellKind.lstm, 2, true, Float(0.3)), (.gru, 2, false, 0), (.rnnTanh, 1, false, 0),
                                                        (.lngru, 2, false, 0)] {
            let su = try makeSetup(kind, layers: layers, bidirectional: bidirectional, dropout: dropout, weightDrop: 0.4)
            let report = checkGradients(su, lengths: [5, 2, 4], training: true)
            XCTAssertTrue(report.passed, "\(kind): \(report)")
        }
    }

    /// Weight drop is DropConnect on W_hh: a training forward gives exactly what an evaluation
    /// forward gives with every W_hh replaced by W_hh ⊙ mask, the masks drawn from the same seed in
    /// the documented order (layer by layer and direction by direction, elements in order, each
    /// kept with scale 1/(1 − p) when the draw is at least p). Evaluation ignores it.
    func testWeightDropIsDropConnectOnTheRecurrentWeights() throws {
        let p: Float = 0.5
        for (kind, bidirectional) in [(CellKind.lstm, true), (.gru, false)] {
            let dropped = try makeSetup(kind, layers: 2, bidirectional: bidirectional, b: 2, t: 4, weightDrop: p)
            let plain = try makeSetup(kind, layers: 2, bidirectional: bidirectional, b: 2, t: 4)
            let (stack, b, t) = (dropped.stack, dropped.b, dropped.t)
            func run(_ su: Setup, training: Bool, seed: UInt64 = 9) -> [Float] {
                var y = [Float](repeating: 0, count: b * t * stack.outputSize)
                var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
                var rng = SeededGenerator(seed: seed)
                su.stack.forward(input: su.x.pointer, batch: b, steps: t, initialState: su.s0.pointer, output: &y, finalState: &sT,
                                 training: training, rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
                return y + sT
            }
            XCTAssertEqual(run(dropped, training: false), run(plain, training: false), "\(kind): evaluation")
            let trained = run(dropped, training: true)
            XCTAssertEqual(trained, run(dropped, training: true), "\(kind): the same seed, the same masks")
            XCTAssertNotEqual(trained, run(dropped, training: true, seed: 10), "\(kind): another seed")
            XCTAssertNotEqual(trained, run(plain, training: false), "\(kind): the drop does nothing")
            var rng = SeededGenerator(seed: 9)
            var zeros = 0, total = 0
            for cell in plain.stack.cells {
                let recurrence = try XCTUnwrap(cell.recurrence)
                let w = plain.arena.value(recurrence.weight)
                for i in 0..<recurrence.weight.count {
                    let keep: Float = rng.nextUniform() < p ? 0 : 1 / (1 - p)
                    w[i] *= keep
                    zeros += keep == 0 ? 1 : 0
                    total += 1
                }
            }
            XCTAssertGreaterThan(zeros, total / 4, "\(kind): masks this sparse say p is not used")
            XCTAssertLessThan(zeros, 3 * total / 4)
            XCTAssertEqual(trained, run(plain, training: false), "\(kind): not W_hh ⊙ mask")
        }
    }

    /// The time loops split by batch rows over the threads (`ParallelRows`), forced down to one row
    /// per part, give the bits of the whole batch in one part: outputs, final states and every
    /// gradient, with ragged lengths (rows ending early, one empty) in both directions.
    func testTimeLoopsSplitByRowsGiveTheSameBits() throws {
        let (threads, minimumWork) = (GEMM.threads, ParallelRows.minimumWork)
        defer { (GEMM.threads, ParallelRows.minimumWork) = (threads, minimumWork) }
        for (kind, projected) in Self.variants {
            for bidirectional in [false, true] {
                let su = try makeSetup(kind, projected: projected, layers: 2, bidirectional: bidirectional, b: 4, t: 6)
                let (stack, b, t) = (su.stack, su.b, su.t)
                func run() -> [Float] {
                    var y = [Float](repeating: 0, count: b * t * stack.outputSize)
                    var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
                    let lengths: [Int32] = [6, 3, 0, 5]
                    let ws = RecurrentStackWorkspace()
                    var rng = SeededGenerator(seed: 0)
                    stack.forward(input: su.x.pointer, batch: b, steps: t, lengths: lengths, initialState: su.s0.pointer,
                                  output: &y, finalState: &sT, rng: &rng, workspace: ws, arena: su.arena)
                    su.arena.zeroGradients()
                    var dx = [Float](repeating: 0, count: b * t * stack.inputSize)
                    var ds0 = [Float](repeating: 0, count: sT.count)
                    stack.backward(input: su.x.pointer, batch: b, steps: t, lengths: lengths,
                                   outputGradient: randomArray(y.count, seed: 5), finalStateGradient: randomArray(sT.count, seed: 6),
                                   inputGradient: &dx, initialStateGradient: &ds0, workspace: ws, arena: su.arena)
                    return y + sT + dx + ds0 + Array(UnsafeBufferPointer(start: su.arena.gradients, count: su.arena.count))
                }
                GEMM.threads = 1
                let whole = run()
                GEMM.threads = 3
                ParallelRows.minimumWork = 0
                XCTAssertEqual(ParallelRows.parts(rows: b, workPerRow: 1), 3)
                let split = run()
                ParallelRows.minimumWork = minimumWork
                XCTAssertTrue(whole == split, "\(kind) bi \(bidirectional): \(zip(whole, split).filter { $0 != $1 }.count) values differ")
            }
        }
    }

    func testDropoutOnlyInTrainingAndSeeded() throws {
        let su = try makeSetup(.gru, layers: 2, bidirectional: false, dropout: 0.5)
        func run(training: Bool, seed: UInt64) -> [Float] {
            var y = [Float](repeating: 0, count: su.b * su.t * su.stack.outputSize)
            var rng = SeededGenerator(seed: seed)
            su.stack.forward(input: su.x.pointer, batch: su.b, steps: su.t, initialState: nil, output: &y, finalState: nil,
                             training: training, rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
            return y
        }
        XCTAssertEqual(run(training: false, seed: 1), run(training: false, seed: 2))
        XCTAssertEqual(run(training: true, seed: 1), run(training: true, seed: 1))
        XCTAssertNotEqual(run(training: true, seed: 1), run(training: true, seed: 2))
        XCTAssertNotEqual(run(training: true, seed: 1), run(training: false, seed: 1))
    }

    /// A row in a ragged batch gives exactly what it gives alone, run on its own length.
    func testRaggedBatchRowEqualsRowAlone() throws {
        for (kind, projected) in Self.variants {
            for bidirectional in [false, true] {
                let su = try makeSetup(kind, projected: projected, layers: 2, bidirectional: bidirectional, b: 4, t: 6)
                let (stack, b, t, d, o) = (su.stack, su.b, su.t, su.stack.inputSize, su.stack.outputSize)
                let s = stack.stateSize, blocks = stack.layers * stack.directions
                let lengths: [Int32] = [6, 3, 1, 4]
                var y = [Float](repeating: 9, count: b * t * o)
                var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
                var rng = SeededGenerator(seed: 0)
                stack.forward(input: su.x.pointer, batch: b, steps: t, lengths: lengths, initialState: su.s0.pointer,
                              output: &y, finalState: &sT, rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
                for r in 0..<b {
                    let n = Int(lengths[r])
                    let xr = Array(UnsafeBufferPointer(start: su.x.pointer + r * t * d, count: n * d))
                    var s0: [Float] = []
                    for i in 0..<blocks {
                        let start: UnsafeMutablePointer<Float> = su.s0.pointer + (i * b + r) * s
                        s0 += Array(UnsafeBufferPointer(start: start, count: s))
                    }
                    var yr = [Float](repeating: 0, count: n * o)
                    var sr = [Float](repeating: 0, count: blocks * s)
                    stack.forward(input: xr, batch: 1, steps: n, initialState: s0, output: &yr, finalState: &sr,
                                  rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
                    XCTAssertEqual(Array(y[(r * t * o)..<((r * t + n) * o)]), yr, "\(kind) bi \(bidirectional) row \(r) outputs")
                    XCTAssertTrue(y[((r * t + n) * o)..<((r + 1) * t * o)].allSatisfy { $0 == 0 }, "\(kind) row \(r) padding")
                    var finals: [Float] = []
                    for i in 0..<blocks { finals += sT[((i * b + r) * s)..<((i * b + r + 1) * s)] }
                    XCTAssertEqual(finals, sr, "\(kind) bi \(bidirectional) row \(r) final state")
                }
            }
        }
    }

    /// Stepping one token at a time gives exactly the whole-sequence outputs; reset starts a row afresh.
    func testStreamingStepEqualsWholeSequence() throws {
        for (kind, projected) in Self.variants {
            let su = try makeSetup(kind, projected: projected, layers: 2, bidirectional: false, b: 3, t: 7)
            let (stack, b, t, d, h) = (su.stack, su.b, su.t, su.stack.inputSize, su.stack.layerOutputSize)
            var y = [Float](repeating: 0, count: b * t * h)
            var sT = [Float](repeating: 0, count: stack.stateCount(batch: b))
            var rng = SeededGenerator(seed: 0)
            stack.forward(input: su.x.pointer, batch: b, steps: t, initialState: nil, output: &y, finalState: &sT,
                          rng: &rng, workspace: RecurrentStackWorkspace(), arena: su.arena)
            var state = RecurrentState(stack: stack, batch: b)
            let ws = StepWorkspace()
            var xt = [Float](repeating: 0, count: b * d), yt = [Float](repeating: 0, count: b * h)
            for step in 0..<t {
                for r in 0..<b { for j in 0..<d { xt[r * d + j] = su.x.pointer[(r * t + step) * d + j] } }
                try stack.step(input: xt, state: &state, output: &yt, workspace: ws, arena: su.arena)
                for r in 0..<b {
                    XCTAssertEqual(Array(yt[(r * h)..<((r + 1) * h)]), Array(y[((r * t + step) * h)..<((r * t + step + 1) * h)]),
                                   "\(kind) step \(step) row \(r)")
                }
            }
            XCTAssertEqual(state.values, sT, "\(kind) final state")
            state.reset(row: 1)
            XCTAssertTrue(stride(from: 0, to: stack.layers, by: 1).allSatisfy { l in
                state.values[((l * b + 1) * stack.stateSize)..<((l * b + 2) * stack.stateSize)].allSatisfy { $0 == 0 }
            })
        }
    }

    func testBadConfigurationsThrow() {
        var layout = ParameterLayout()
        XCTAssertThrowsError(try RecurrentStack(kind: .lstm, inputSize: 3, hiddenSize: 0, layout: &layout)) {
            XCTAssertEqual("\($0)", "invalid hidden size '0': expected at least 1")
        }
        XCTAssertThrowsError(try RecurrentStack(kind: .gru, inputSize: 3, hiddenSize: 4, dropout: 1, layout: &layout))
        XCTAssertThrowsError(try CellKind(parsing: "transformer")) {
            XCTAssertEqual("\($0)", "invalid cell 'transformer': expected one of lstm, gru, rnn (rnn_tanh), rnn_relu, mingru, minlstm, lnlstm, lngru")
        }
        XCTAssertThrowsError(try RecurrentStack(kind: .gru, inputSize: 3, hiddenSize: 4, projectedSize: 2, layout: &layout)) {
            XCTAssertEqual("\($0)", "invalid projection size '2': expected none for gru: only lstm projects its output")
        }
        XCTAssertThrowsError(try RecurrentStack(kind: .lstm, inputSize: 3, hiddenSize: 4, projectedSize: 4, layout: &layout)) {
            XCTAssertEqual("\($0)", "invalid projection size '4': expected 1..<4 (below the hidden size)")
        }
        XCTAssertThrowsError(try RecurrentStack.validate(lengths: [3, 9], batch: 2, steps: 5)) {
            XCTAssertEqual("\($0)", "invalid length of row 1 '9': expected 0...5")
        }
    }

    func testParameterNamesAreTorchs() throws {
        var layout = ParameterLayout()
        _ = try RecurrentStack(kind: .lstm, inputSize: 3, hiddenSize: 4, layers: 2, bidirectional: true, layout: &layout)
        XCTAssertEqual(layout.parameters.map(\.name), [
            "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
            "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse",
            "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
            "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1_reverse", "rnn.bias_ih_l1_reverse", "rnn.bias_hh_l1_reverse",
        ])
        XCTAssertEqual(layout.parameters.map { "\($0.rows)x\($0.cols)" }.prefix(5), ["16x3", "16x4", "16x1", "16x1", "16x3"])
        XCTAssertEqual(layout.parameters[8].cols, 8)   // layer 1 reads both directions
    }
}

final class StackArrayAPITests: XCTestCase {
    func testShapeMismatchesNameExpectedAndActualShapes() throws {
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: .lstm, inputSize: 3, hiddenSize: 4, layers: 2, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        let ws = RecurrentStackWorkspace()
        var rng = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try stack.forward([Float](repeating: 0, count: 29), batch: 2, steps: 5, rng: &rng,
                                               workspace: ws, arena: arena)) {
            XCTAssertEqual("\($0)", "RecurrentStack.forward input: expected shape (B, T, D) = (2, 5, 3) = 30 scalars, found 29 scalars")
        }
        XCTAssertThrowsError(try stack.forward([Float](repeating: 0, count: 30), batch: 2, steps: 5, initialState: [0, 0],
                                               rng: &rng, workspace: ws, arena: arena)) {
            XCTAssertEqual("\($0)", "RecurrentStack.forward initial state: expected shape (L·dirs, B, S) = (2, 2, 8) = 32 scalars, found 2 scalars")
        }
        let (y, state) = try stack.forward([Float](repeating: 0.1, count: 30), batch: 2, steps: 5, rng: &rng,
                                           workspace: ws, arena: arena)
        XCTAssertEqual(y.count, 40)
        XCTAssertEqual(state.count, 32)
        XCTAssertThrowsError(try stack.backward([Float](repeating: 0.1, count: 30), batch: 2, steps: 5,
                                                outputGradient: [1], workspace: ws, arena: arena)) {
            XCTAssertEqual("\($0)", "RecurrentStack.backward output gradient: expected shape (B, T, dirs·H) = (2, 5, 4) = 40 scalars, found 1 scalars")
        }
        let (dx, ds0) = try stack.backward([Float](repeating: 0.1, count: 30), batch: 2, steps: 5,
                                           outputGradient: [Float](repeating: 1, count: 40), workspace: ws, arena: arena)
        XCTAssertEqual(dx.count, 30)
        XCTAssertEqual(ds0.count, 32)
        var s = RecurrentState(stack: stack, batch: 2)
        XCTAssertThrowsError(try stack.step([1, 2, 3], state: &s, workspace: StepWorkspace(), arena: arena)) {
            XCTAssertEqual("\($0)", "RecurrentStack.step input: expected shape (B, D) = (2, 3) = 6 scalars, found 3 scalars")
        }
        XCTAssertEqual(try stack.step([1, 2, 3, 4, 5, 6], state: &s, workspace: StepWorkspace(), arena: arena).count, 8)
    }
}

final class PackedStreamingTests: XCTestCase {
    /// Steps with weights packed once give the same bits as unpacked steps.
    func testPackedStepsEqualUnpackedSteps() throws {
        for (kind, projected) in StackTests.variants {
            var layout = ParameterLayout()
            let stack = try RecurrentStack(kind: kind, inputSize: 5, hiddenSize: 7, projectedSize: projected, layers: 2,
                                           layout: &layout)
            let arena = ParameterArena(layout: layout, seed: 3)
            var plain = RecurrentState(stack: stack, batch: 1), packed = plain
            let ws = StepWorkspace(), wsPacked = StepWorkspace()
            stack.packWeights(into: wsPacked, arena: arena)
            for t in 0..<6 {
                let x = randomArray(5, seed: UInt64(10 + t))
                let a = try stack.step(x, state: &plain, workspace: ws, arena: arena)
                let b = try stack.step(x, state: &packed, workspace: wsPacked, arena: arena)
                XCTAssertEqual(a, b, "\(kind) step \(t)")
            }
            XCTAssertEqual(plain, packed)
            // A first-layer projection looked up from a table gives the same bits as the input.
            let x = randomArray(3 * 5, seed: 40)
            var table = [Float](repeating: 0, count: 3 * stack.cells[0].projectionSize)
            stack.firstLayerProjections(x, rows: 3, output: &table, arena: arena)
            for r in 0..<3 {
                let a = try stack.step(Array(x[(r * 5)..<((r + 1) * 5)]), state: &plain, workspace: ws, arena: arena)
                var b = [Float](repeating: 0, count: stack.outputSize)
                try table.withUnsafeBufferPointer {
                    try stack.step(firstLayerProjection: $0.baseAddress! + r * stack.cells[0].projectionSize, state: &packed,
                                   output: &b, workspace: wsPacked, arena: arena)
                }
                XCTAssertEqual(a, b, "\(kind) table row \(r)")
            }
            XCTAssertEqual(plain, packed)
            wsPacked.forgetPackedWeights()
            XCTAssertEqual(try stack.step([1, 2, 3, 4, 5], state: &plain, workspace: ws, arena: arena),
                           try stack.step([1, 2, 3, 4, 5], state: &packed, workspace: wsPacked, arena: arena))
        }
    }
}
