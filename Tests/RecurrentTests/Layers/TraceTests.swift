import Foundation
import XCTest
@testable import Recurrent

/// `RecurrentTrace`: the traced h_t are the forward's, and the traced gates rebuild the cell's step.
final class TraceTests: XCTestCase {
    /// Every registered kind, and LSTM with projections (P = 3 < H = 5).
    static let variants: [(CellKind, Int?)] = CellKind.allCases.map { ($0, nil) } + [(.lstm, 3)]

    func makeStack(_ kind: CellKind, projected: Int? = nil, layers: Int = 2, d: Int = 4, h: Int = 5,
                   seed: UInt64 = 5) throws -> (RecurrentStack, ParameterArena, [Float]) {
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: kind, inputSize: d, hiddenSize: h, projectedSize: projected, layers: layers,
                                       layout: &layout)
        let arena = ParameterArena(layout: layout, seed: seed)
        return (stack, arena, randomArray(9 * d, seed: seed + 1))
    }

    /// The top layer's traced h_t is the whole-sequence forward's output, bit for bit; stepping
    /// with gates leaves the state as stepping without them.
    func testTracedStatesEqualTheForward() throws {
        for (kind, projected) in Self.variants {
            let (stack, arena, x) = try makeStack(kind, projected: projected)
            let t = x.count / stack.inputSize, o = stack.layerOutputSize
            var y = [Float](repeating: 0, count: t * o)
            var rng = SeededGenerator(seed: 0)
            stack.forward(input: x, batch: 1, steps: t, initialState: nil, output: &y, finalState: nil, rng: &rng,
                          workspace: RecurrentStackWorkspace(), arena: arena)
            let trace = try x.withUnsafeBufferPointer { try stack.trace(input: $0.baseAddress!, steps: t, arena: arena) }
            XCTAssertEqual(trace.steps, t)
            XCTAssertEqual(trace.gates, stack.cells[0].gates, "\(kind)")
            XCTAssertEqual(trace.gateValues.count, t * stack.layers * stack.gateValueCount)
            for step in 0..<t {
                XCTAssertEqual(Array(trace.hidden(step: step, layer: stack.layers - 1)), Array(y[(step * o)..<((step + 1) * o)]),
                               "\(kind) step \(step)")
            }
            var plain = RecurrentState(stack: stack, batch: 1)
            let ws = StepWorkspace()
            for step in 0..<t { _ = try stack.step(Array(x[(step * 4)..<((step + 1) * 4)]), state: &plain, workspace: ws, arena: arena) }
            let last = (0..<stack.layers).flatMap { Array(trace.hidden(step: t - 1, layer: $0)) }
            let plainLast = (0..<stack.layers).flatMap { l in plain.values[(l * stack.stateSize)..<(l * stack.stateSize + o)] }
            XCTAssertEqual(last, Array(plainLast), "\(kind): stepping with gates changed the state")
        }
    }

    func testGateNames() throws {
        let names: [CellKind: [String]] = [.lstm: ["i", "f", "g", "o", "c"], .gru: ["r", "z", "n"], .rnnTanh: ["tanh"],
                                           .rnnRelu: ["relu"], .lnlstm: ["i", "f", "g", "o", "c"], .lngru: ["r", "z", "n"],
                                           .mingru: ["z", "candidate"], .minlstm: ["f", "i", "candidate"]]
        for kind in CellKind.allCases {
            let (stack, _, _) = try makeStack(kind)
            XCTAssertEqual(stack.gates.map(\.name), names[kind], "\(kind)")
            XCTAssertEqual(stack.gateValueCount, stack.gates.count * 5)
        }
    }

    /// Per step and layer: the previous state, this step's gates by name, and this state.
    func walk(_ kind: CellKind, projected: Int? = nil,
              _ check: (_ name: String, _ gate: (String) -> [Float], _ previous: [Float], _ h: [Float]) -> Void) throws {
        let (stack, arena, x) = try makeStack(kind, projected: projected)
        let t = x.count / stack.inputSize
        let trace = try x.withUnsafeBufferPointer { try stack.trace(input: $0.baseAddress!, steps: t, arena: arena) }
        for step in 0..<t {
            for l in 0..<stack.layers {
                let previous = step == 0 ? [Float](repeating: 0, count: trace.outputSize) : Array(trace.hidden(step: step - 1, layer: l))
                check("\(kind) step \(step) layer \(l)", { Array(trace.gate(trace.gateIndex(named: $0)!, step: step, layer: l)) },
                      previous, Array(trace.hidden(step: step, layer: l)))
            }
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ message: String, tolerance: Float = 2e-6) {
        XCTAssertEqual(a.count, b.count, message)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(message): largest difference \(worst)")
    }

    /// LSTM: h_t = o ⊙ tanh(c_t) from the traced gates; c_t = f ⊙ c_{t−1} + i ⊙ g.
    func testLSTMGatesRebuildTheStep() throws {
        var previousC: [String: [Float]] = [:]
        try walk(.lstm) { name, gate, _, h in
            let (i, f, g, o, c) = (gate("i"), gate("f"), gate("g"), gate("o"), gate("c"))
            assertClose((0..<5).map { o[$0] * tanh(c[$0]) }, h, name)
            let layer = String(name.split(separator: " ").last!)
            let cp = previousC[layer] ?? [Float](repeating: 0, count: 5)
            assertClose((0..<5).map { f[$0] * cp[$0] + i[$0] * g[$0] }, c, name + " c")
            previousC[layer] = c
            XCTAssertTrue(i.allSatisfy { $0 > 0 && $0 < 1 } && g.allSatisfy { abs($0) < 1 }, name)
        }
    }

    /// GRU: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}; also the layer-normalised GRU, whose gates are recomputed.
    func testGRUGatesRebuildTheStep() throws {
        for kind in [CellKind.gru, .lngru] {
            try walk(kind) { name, gate, previous, h in
                let (z, n) = (gate("z"), gate("n"))
                assertClose((0..<5).map { (1 - z[$0]) * n[$0] + z[$0] * previous[$0] }, h, name, tolerance: 1e-5)
            }
        }
    }

    /// Layer-normalised LSTM (gates recomputed from the cached x̂): c_t = f ⊙ c_{t−1} + i ⊙ g and
    /// h_t = o ⊙ tanh(LN(c_t)) (fresh gains 1, biases 0).
    func testLayerNormLSTMGatesRebuildTheStep() throws {
        var previousC: [String: [Float]] = [:]
        try walk(.lnlstm) { name, gate, _, h in
            let (i, f, g, o, c) = (gate("i"), gate("f"), gate("g"), gate("o"), gate("c"))
            let layer = String(name.split(separator: " ").last!)
            let cp = previousC[layer] ?? [Float](repeating: 0, count: 5)
            assertClose((0..<5).map { f[$0] * cp[$0] + i[$0] * g[$0] }, c, name + " c", tolerance: 1e-5)
            previousC[layer] = c
            let mean = c.reduce(0, +) / 5
            let variance = c.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5
            assertClose((0..<5).map { o[$0] * tanh((c[$0] - mean) / (variance + 1e-5).squareRoot()) }, h, name, tolerance: 1e-5)
        }
    }

    /// minGRU h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃; minLSTM h_t = (f ⊙ h_{t−1} + i ⊙ h̃)/(f + i); RNN h_t = φ.
    func testOtherCellsGatesRebuildTheStep() throws {
        try walk(.mingru) { name, gate, previous, h in
            let (z, c) = (gate("z"), gate("candidate"))
            assertClose((0..<5).map { (1 - z[$0]) * previous[$0] + z[$0] * c[$0] }, h, name)
        }
        try walk(.minlstm) { name, gate, previous, h in
            let (f, i, c) = (gate("f"), gate("i"), gate("candidate"))
            assertClose((0..<5).map { (f[$0] * previous[$0] + i[$0] * c[$0]) / (f[$0] + i[$0]) }, h, name)
        }
        try walk(.rnnTanh) { name, gate, _, h in XCTAssertEqual(gate("tanh"), h, name) }
        try walk(.rnnRelu) { name, gate, _, h in XCTAssertEqual(gate("relu"), h, name) }
    }

    /// With projections the gates are H wide and h_t P wide.
    func testProjectedLSTMGates() throws {
        let (stack, _, _) = try makeStack(.lstm, projected: 3)
        XCTAssertEqual(stack.gates.map(\.width), [5, 5, 5, 5, 5])
        XCTAssertEqual(RecurrentTrace(stack: stack).outputSize, 3)
    }
}
