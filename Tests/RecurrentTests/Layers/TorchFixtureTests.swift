import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Outputs, final states and every gradient against fixtures made by PyTorch
/// (Fixtures/make_fixtures.py), with PyTorch's state dict loaded by name.
final class TorchFixtureTests: XCTestCase {
    struct Case: Decodable {
        let cell: String
        let layers: Int
        let bidirectional: Bool
        let batch: Int, steps: Int
        let input_size: Int, hidden_size: Int
        let proj_size: Int?
        let parameters: [String: [Float]]
        let gradients: [String: [Float]]
        let x: [Float], h0: [Float], y: [Float], hn: [Float], wy: [Float], wh: [Float], dx: [Float], dh0: [Float]
        let c0: [Float]?, cn: [Float]?, wc: [Float]?, dc0: [Float]?
    }
    struct File: Decodable { let torch: String; let cases: [Case] }

    /// Largest |ours − theirs| / (1 + |theirs|).
    func difference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count)")
        return zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
    }

    /// PyTorch's (L·dirs, B, P) h and (L·dirs, B, H) c into our (L·dirs, B, S) with rows [h | c]
    /// (P = H without projections).
    func packState(h: [Float], c: [Float]?, blocks: Int, batch: Int, hidden: Int, projected: Int? = nil) -> [Float] {
        let p = projected ?? hidden
        let s = c == nil ? p : p + hidden
        var out = [Float](repeating: 0, count: blocks * batch * s)
        for i in 0..<(blocks * batch) {
            for j in 0..<p { out[i * s + j] = h[i * p + j] }
            if let c { for j in 0..<hidden { out[i * s + p + j] = c[i * hidden + j] } }
        }
        return out
    }

    func unpack(_ state: [Float], lstm: Bool, rows: Int, hidden: Int, projected: Int? = nil) -> (h: [Float], c: [Float]) {
        let p = projected ?? hidden
        let s = lstm ? p + hidden : hidden
        var h: [Float] = [], c: [Float] = []
        for i in 0..<rows {
            h += state[(i * s)..<(i * s + p)]
            if lstm { c += state[(i * s + p)..<(i * s + p + hidden)] }
        }
        return (h, c)
    }

    func testAgainstPyTorch() throws {
        try check(fixtures: "torch_recurrent", count: 16)
    }

    /// nn.LSTM(proj_size: 3) with H = 4: h of size 3, `weight_hr_l{k}`, every gradient.
    func testLSTMWithProjectionsAgainstPyTorch() throws {
        try check(fixtures: "torch_lstm_projection", count: 4)
    }

    func check(fixtures: String, count: Int) throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: fixtures, withExtension: "json", subdirectory: "Fixtures"))
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        XCTAssertEqual(file.cases.count, count)
        for fx in file.cases {
            let projected = fx.proj_size.flatMap { $0 > 0 ? $0 : nil }
            let name = "\(fx.cell) L\(fx.layers) bi \(fx.bidirectional) proj \(projected ?? 0)"
            let kind = try CellKind(parsing: fx.cell)
            var layout = ParameterLayout()
            let stack = try RecurrentStack(kind: kind, inputSize: fx.input_size, hiddenSize: fx.hidden_size,
                                           projectedSize: projected, layers: fx.layers,
                                           bidirectional: fx.bidirectional, layout: &layout)
            let arena = ParameterArena(layout: layout, seed: 0)
            XCTAssertEqual(Set(layout.parameters.map(\.name)), Set(fx.parameters.keys.map { "rnn." + $0 }), name)
            for (key, values) in fx.parameters {
                let p = try XCTUnwrap(arena["rnn." + key])
                try arena.set(p, to: Matrix(rows: p.rows, cols: p.cols, scalars: values))
            }
            let lstm = kind == .lstm
            let blocks = fx.layers * (fx.bidirectional ? 2 : 1)
            let (b, t, h) = (fx.batch, fx.steps, fx.hidden_size)
            let s0 = packState(h: fx.h0, c: fx.c0, blocks: blocks, batch: b, hidden: h, projected: projected)
            var y = [Float](repeating: 0, count: fx.y.count)
            var sT = [Float](repeating: 0, count: s0.count)
            var rng = SeededGenerator(seed: 0)
            let ws = RecurrentStackWorkspace()
            stack.forward(input: fx.x, batch: b, steps: t, initialState: s0, output: &y, finalState: &sT,
                          rng: &rng, workspace: ws, arena: arena)
            let finals = unpack(sT, lstm: lstm, rows: blocks * b, hidden: h, projected: projected)
            XCTAssertLessThan(difference(y, fx.y), 1e-5, "\(name) outputs")
            XCTAssertLessThan(difference(finals.h, fx.hn), 1e-5, "\(name) h_n")
            if lstm { XCTAssertLessThan(difference(finals.c, fx.cn!), 1e-5, "\(name) c_n") }

            arena.zeroGradients()
            let dsT = packState(h: fx.wh, c: fx.wc, blocks: blocks, batch: b, hidden: h, projected: projected)
            var dx = [Float](repeating: 0, count: fx.x.count)
            var ds0 = [Float](repeating: 0, count: s0.count)
            stack.backward(input: fx.x, batch: b, steps: t, outputGradient: fx.wy, finalStateGradient: dsT,
                           inputGradient: &dx, initialStateGradient: &ds0, workspace: ws, arena: arena)
            XCTAssertLessThan(difference(dx, fx.dx), 1e-5, "\(name) ∂x")
            let d0 = unpack(ds0, lstm: lstm, rows: blocks * b, hidden: h, projected: projected)
            XCTAssertLessThan(difference(d0.h, fx.dh0), 1e-5, "\(name) ∂h0")
            if lstm { XCTAssertLessThan(difference(d0.c, fx.dc0!), 1e-5, "\(name) ∂c0") }
            for (key, grad) in fx.gradients {
                let p = try XCTUnwrap(arena["rnn." + key])
                XCTAssertLessThan(difference(arena.gradientMatrix(p).scalars, grad), 1e-5, "\(name) ∂\(key)")
            }
        }
    }
}
