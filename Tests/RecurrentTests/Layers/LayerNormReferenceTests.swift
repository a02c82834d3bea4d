import Foundation
import XCTest
@testable import Recurrent

/// `lnlstm` and `lngru` against an independent NumPy implementation of their equations
/// (Fixtures/make_layernorm_fixtures.py, float64, gradients by central differences): outputs,
/// final states and the gradients of every parameter, the input and the initial state, with a
/// random and with a zero initial state (where LN(W_hh·0) has its 1/√ε slope).
final class LayerNormReferenceTests: XCTestCase {
    struct Case: Decodable {
        let cell: String
        let batch: Int, steps: Int, input_size: Int, hidden_size: Int, state_size: Int
        let parameters: [String: [Float]]
        let input: [Float], initial_state: [Float], output_weights: [Float], final_state_weights: [Float]
        let output: [Double], final_state: [Double]
        let gradients: [String: [Double]]
    }
    struct File: Decodable { let epsilon: Double; let cases: [Case] }

    /// Largest |ours − theirs| / (1 + |theirs|).
    func difference(_ a: [Float], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "\(a.count) vs \(b.count)")
        return zip(a, b).map { abs(Double($0) - $1) / (1 + abs($1)) }.max() ?? 0
    }

    func testAgainstTheNumPyReference() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "layernorm_reference", withExtension: "json", subdirectory: "Fixtures"))
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        XCTAssertEqual(file.epsilon, Double(LayerNormalization.epsilon), accuracy: 1e-12)
        XCTAssertEqual(Set(file.cases.map(\.cell)), ["lnlstm", "lngru"])
        for fx in file.cases {
            let name = "\(fx.cell) B\(fx.batch) T\(fx.steps) H\(fx.hidden_size)"
            var layout = ParameterLayout()
            let stack = try RecurrentStack(kind: CellKind(parsing: fx.cell), inputSize: fx.input_size,
                                           hiddenSize: fx.hidden_size, layout: &layout)
            XCTAssertEqual(stack.stateSize, fx.state_size, name)
            let arena = ParameterArena(layout: layout, seed: 0)
            XCTAssertEqual(Set(layout.parameters.map(\.name)), Set(fx.parameters.keys.map { "rnn." + $0 }), name)
            for (key, values) in fx.parameters {
                let p = try XCTUnwrap(arena["rnn." + key])
                try arena.set(p, to: Matrix(rows: p.rows, cols: p.cols, scalars: values))
            }
            let (b, t) = (fx.batch, fx.steps)
            var y = [Float](repeating: 0, count: fx.output.count)
            var sT = [Float](repeating: 0, count: fx.final_state.count)
            var rng = SeededGenerator(seed: 0)
            let ws = RecurrentStackWorkspace()
            stack.forward(input: fx.input, batch: b, steps: t, initialState: fx.initial_state, output: &y, finalState: &sT,
                          rng: &rng, workspace: ws, arena: arena)
            XCTAssertLessThan(difference(y, fx.output), 1e-5, "\(name) outputs")
            XCTAssertLessThan(difference(sT, fx.final_state), 1e-5, "\(name) final state")

            arena.zeroGradients()
            var dx = [Float](repeating: 0, count: fx.input.count)
            var ds0 = [Float](repeating: 0, count: fx.initial_state.count)
            stack.backward(input: fx.input, batch: b, steps: t, outputGradient: fx.output_weights,
                           finalStateGradient: fx.final_state_weights, inputGradient: &dx, initialStateGradient: &ds0,
                           workspace: ws, arena: arena)
            XCTAssertLessThan(difference(dx, try XCTUnwrap(fx.gradients["input"])), 1e-4, "\(name) ∂x")
            XCTAssertLessThan(difference(ds0, try XCTUnwrap(fx.gradients["initial_state"])), 1e-4, "\(name) ∂state_0")
            for key in fx.parameters.keys {
                let p = try XCTUnwrap(arena["rnn." + key])
                let reference = try XCTUnwrap(fx.gradients[key], "\(name): no gradient for \(key)")
                XCTAssertLessThan(difference(arena.gradientMatrix(p).scalars, reference), 1e-4, "\(name) ∂\(key)")
            }
        }
    }
}
