import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Random data for a layer test.
func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<n).map { _ in scale * g.nextUniform(-1, 1) }
}

/// Heap memory that a loss closure can read while the gradient checker perturbs it in place
/// (an array would be an exclusive-access conflict).
final class TestBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }
    deinit { pointer.deallocate() }
}

/// Checks one recurrent layer: every parameter, the input and the initial state, against
/// finite differences of L = Σ wy⊙y + Σ ws⊙state_T (random wy, ws, so every output matters).
func checkRecurrentLayer<Cell: RecurrentCell>(_ layer: RecurrentLayer<Cell>, layout: ParameterLayout,
                                             batch b: Int, steps t: Int, seed: UInt64 = 5,
                                             checker: GradientChecker = GradientChecker(),
                                             initialState makeState: ((Int) -> [Float])? = nil,
                                             file: StaticString = #filePath, line: UInt = #line) {
    let arena = ParameterArena(layout: layout, seed: seed)
    let (d, h, s) = (layer.inputSize, layer.outputSize, layer.stateSize)
    let x = TestBuffer(randomArray(b * t * d, seed: seed + 1))
    let s0 = TestBuffer(makeState?(b * s) ?? randomArray(b * s, seed: seed + 2, scale: 0.5))
    let wy = randomArray(b * t * h, seed: seed + 3)
    let ws = randomArray(b * s, seed: seed + 4)
    let workspace = RecurrentWorkspace()
    var y = [Float](repeating: 0, count: b * t * h)
    var sT = [Float](repeating: 0, count: b * s)

    func loss() -> Double {
        layer.forward(input: x.pointer, batch: b, steps: t, initialState: s0.pointer, output: &y, finalState: &sT,
                      workspace: workspace, arena: arena)
        var l = 0.0
        for i in y.indices { l += Double(wy[i] * y[i]) }
        for i in sT.indices { l += Double(ws[i] * sT[i]) }
        return l
    }
    _ = loss()
    arena.zeroGradients()
    var dx = [Float](repeating: 0, count: x.count)
    var ds0 = [Float](repeating: 0, count: s0.count)
    layer.backward(input: x.pointer, batch: b, steps: t, outputGradient: wy, finalStateGradient: ws,
                   inputGradient: &dx, initialStateGradient: &ds0, workspace: workspace, arena: arena)
    var report = checker.check(arena, loss: loss)
    report.merge(checker.check("input", values: x.pointer, analytic: dx, loss: loss))
    report.merge(checker.check("initial state", values: s0.pointer, analytic: ds0, loss: loss))
    XCTAssertTrue(report.passed, "\(report)", file: file, line: line)
    XCTAssertGreaterThan(report.checked, 20, file: file, line: line)
}

final class LayerGradientTests: XCTestCase {
    func testRNNCellTanhGradients() {
        var layout = ParameterLayout()
        let layer = RecurrentLayer(cell: RNNCell("rnn", inputSize: 4, hiddenSize: 6, layout: &layout))
        checkRecurrentLayer(layer, layout: layout, batch: 3, steps: 5)
    }

    func testRNNCellReluGradients() {
        var layout = ParameterLayout()
        let layer = RecurrentLayer(cell: RNNCell("rnn", inputSize: 3, hiddenSize: 5, nonlinearity: .relu, layout: &layout))
        // A small step keeps the perturbations from crossing relu's kink.
        checkRecurrentLayer(layer, layout: layout, batch: 2, steps: 4,
                            checker: GradientChecker(epsilon: 1e-3, absoluteTolerance: 3e-3))
    }

    func testLSTMCellGradients() {
        for initialization in RecurrentInitialization.allCases {
            var layout = ParameterLayout()
            let layer = RecurrentLayer(cell: LSTMCell("lstm", inputSize: 4, hiddenSize: 5,
                                                      initialization: initialization, layout: &layout))
            checkRecurrentLayer(layer, layout: layout, batch: 3, steps: 5)
        }
    }

    func testGRUCellGradients() {
        for initialization in RecurrentInitialization.allCases {
            var layout = ParameterLayout()
            let layer = RecurrentLayer(cell: GRUCell("gru", inputSize: 4, hiddenSize: 5,
                                                     initialization: initialization, layout: &layout))
            checkRecurrentLayer(layer, layout: layout, batch: 3, steps: 5)
        }
    }

    func testMinGRUAndMinLSTMCellGradients() {
        for initialization in RecurrentInitialization.allCases {
            var layout = ParameterLayout()
            let gru = RecurrentLayer(cell: MinGRUCell("mingru", inputSize: 4, hiddenSize: 5,
                                                      initialization: initialization, layout: &layout))
            // g has a kink at 0 (slope 1/4 below, 1 above): a small step keeps the differences
            // on one side of it for all but the nearest pre-activations.
            checkRecurrentLayer(gru, layout: layout, batch: 3, steps: 5, checker: GradientChecker(epsilon: 1e-3))
            layout = ParameterLayout()
            let lstm = RecurrentLayer(cell: MinLSTMCell("minlstm", inputSize: 4, hiddenSize: 5,
                                                        initialization: initialization, layout: &layout))
            checkRecurrentLayer(lstm, layout: layout, batch: 3, steps: 5, checker: GradientChecker(epsilon: 1e-3))
        }
    }

    func testLayerNormLSTMAndGRUCellGradients() {
        for initialization in RecurrentInitialization.allCases {
            var layout = ParameterLayout()
            let lstm = RecurrentLayer(cell: LayerNormLSTMCell("lnlstm", inputSize: 4, hiddenSize: 5,
                                                              initialization: initialization, layout: &layout))
            checkRecurrentLayer(lstm, layout: layout, batch: 3, steps: 5, checker: GradientChecker(epsilon: 1e-3))
            layout = ParameterLayout()
            let gru = RecurrentLayer(cell: LayerNormGRUCell("lngru", inputSize: 4, hiddenSize: 5,
                                                            initialization: initialization, layout: &layout))
            checkRecurrentLayer(gru, layout: layout, batch: 3, steps: 5, checker: GradientChecker(epsilon: 1e-3))
        }
    }

    func testRoommateCellGradients() {
        var layout = ParameterLayout()
        let layer = RecurrentLayer(cell: RoommateCell(layout: &layout))
        checkRecurrentLayer(layer, layout: layout, batch: 3, steps: 4, initialState: { n in
            // A probability vector per row, as the cell expects.
            (0..<n).map { $0 % 3 == 0 ? 0.6 : 0.2 }
        })
    }

    func testLinearGradients() {
        var layout = ParameterLayout()
        let linear = Linear("head", inputSize: 5, outputSize: 4, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 2)
        let rows = 3
        let x = TestBuffer(randomArray(rows * 5, seed: 3))
        let w = randomArray(rows * 4, seed: 4)
        var y = [Float](repeating: 0, count: rows * 4)
        func loss() -> Double {
            linear.forward(x.pointer, rows: rows, output: &y, arena: arena)
            return zip(w, y).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        arena.zeroGradients()
        var dx = [Float](repeating: 0, count: x.count)
        linear.backward(x.pointer, rows: rows, outputGradient: w, inputGradient: &dx, arena: arena)
        let checker = GradientChecker()
        var report = checker.check(arena, loss: loss)
        report.merge(checker.check("x", values: x.pointer, analytic: dx, loss: loss))
        XCTAssertTrue(report.passed, "\(report)")
        // And the forward against the plain formula y = x·Wᵀ + b (from the unperturbed values).
        _ = loss()
        let wm = arena.matrix(linear.weight), bm = arena.matrix(linear.bias!)
        for r in 0..<rows { for o in 0..<4 {
            var v = bm.scalars[o]
            for i in 0..<5 { v += x.pointer[r * 5 + i] * wm[o, i] }
            XCTAssertEqual(y[r * 4 + o], v, accuracy: 1e-5)
        } }
    }

    func testEmbeddingGradientsAndLookup() throws {
        var layout = ParameterLayout()
        let embedding = Embedding("embedding", vocabularySize: 7, embeddingSize: 3, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 4)
        let ids: [Int32] = [1, 5, 1, 0, 6]
        let w = randomArray(ids.count * 3, seed: 5)
        var y = [Float](repeating: 0, count: ids.count * 3)
        func loss() -> Double {
            embedding.forward(ids, rows: ids.count, output: &y, arena: arena)
            return zip(w, y).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        XCTAssertEqual(Array(y[3..<6]), arena.matrix(embedding.weight).row(5))
        arena.zeroGradients()
        embedding.backward(ids, rows: ids.count, outputGradient: w, arena: arena)
        let report = GradientChecker().check(arena, loss: loss)
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertThrowsError(try [Int32(2), 7].withUnsafeBufferPointer { try embedding.validate($0) }) {
            XCTAssertEqual("\($0)", "invalid token id at position 1 '7': expected 0..<7")
        }
    }

    /// The checker must catch a wrong gradient: plant one and expect failure.
    func testCheckerCatchesAPlantedWrongGradient() {
        var layout = ParameterLayout()
        let layer = RecurrentLayer(cell: RNNCell("rnn", inputSize: 3, hiddenSize: 4, layout: &layout))
        let arena = ParameterArena(layout: layout, seed: 8)
        let (b, t) = (2, 3)
        let x = randomArray(b * t * 3, seed: 9)
        let wy = randomArray(b * t * 4, seed: 10)
        let ws = RecurrentWorkspace()
        var y = [Float](repeating: 0, count: b * t * 4)
        func loss() -> Double {
            layer.forward(input: x, batch: b, steps: t, initialState: nil, output: &y, finalState: nil, workspace: ws, arena: arena)
            return zip(wy, y).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        _ = loss()
        arena.zeroGradients()
        layer.backward(input: x, batch: b, steps: t, outputGradient: wy, finalStateGradient: nil, inputGradient: nil,
                       initialStateGradient: nil, workspace: ws, arena: arena)
        XCTAssertTrue(GradientChecker().check(arena, loss: loss).passed)
        // Plant: an error of 0.05 in one entry of ∂W_hh.
        let p = layer.cell.recurrentWeight
        arena.gradient(p)[5] += 0.05
        let report = GradientChecker().check(arena, loss: loss)
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.failures.map(\.name), ["rnn.weight_hh_l0"])
        XCTAssertEqual(report.failures.first?.index, 5)
    }

    /// The unrolled layer against a plain per-element implementation of the vanilla RNN.
    func testRNNForwardMatchesPlainLoops() {
        for nonlinearity in RNNCell.Nonlinearity.allCases {
            var layout = ParameterLayout()
            let cell = RNNCell("rnn", inputSize: 5, hiddenSize: 7, nonlinearity: nonlinearity, layout: &layout)
            let layer = RecurrentLayer(cell: cell)
            let arena = ParameterArena(layout: layout, seed: 11)
            let (b, t, d, h) = (3, 6, 5, 7)
            let x = randomArray(b * t * d, seed: 12)
            let h0 = randomArray(b * h, seed: 13)
            var y = [Float](repeating: 0, count: b * t * h)
            var hT = [Float](repeating: 0, count: b * h)
            layer.forward(input: x, batch: b, steps: t, initialState: h0, output: &y, finalState: &hT,
                          workspace: RecurrentWorkspace(), arena: arena)
            let wih = arena.matrix(cell.inputWeight), whh = arena.matrix(cell.recurrentWeight)
            let bih = arena.matrix(cell.inputBias!), bhh = arena.matrix(cell.recurrentBias)
            var worst: Float = 0
            for r in 0..<b {
                var hPrev = Array(h0[(r * h)..<((r + 1) * h)])
                for s in 0..<t {
                    var hNew = [Float](repeating: 0, count: h)
                    for j in 0..<h {
                        var a = bih.scalars[j] + bhh.scalars[j]
                        for i in 0..<d { a += wih[j, i] * x[(r * t + s) * d + i] }
                        for i in 0..<h { a += whh[j, i] * hPrev[i] }
                        hNew[j] = nonlinearity == .tanh ? Foundation.tanh(a) : max(a, 0)
                        worst = max(worst, abs(hNew[j] - y[(r * t + s) * h + j]))
                    }
                    hPrev = hNew
                }
                for j in 0..<h { worst = max(worst, abs(hPrev[j] - hT[r * h + j])) }
            }
            XCTAssertLessThan(worst, 1e-5, "\(nonlinearity): largest difference \(worst)")
        }
    }
}
