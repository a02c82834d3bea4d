import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Every readout of SequenceModel, with ragged lengths and both directions, against finite differences.
final class SequenceModelTests: XCTestCase {
    func testReadoutGradients() throws {
        for readout in [SequenceModel.Readout.allSteps, .lastStep, .finalState, .mean] {
            for (kind, bidirectional) in [(CellKind.lstm, true), (.gru, false)] {
                var layout = ParameterLayout()
                let model = try SequenceModel(input: .features(3), kind: kind, hiddenSize: 4, layers: 2,
                                              bidirectional: bidirectional, outputs: 2, layout: &layout)
                let arena = ParameterArena(layout: layout, seed: 4)
                let (b, t) = (3, 5)
                let lengths: [Int32]? = readout == .lastStep ? nil : [5, 2, 4]
                let x = TestBuffer(randomArray(b * t * 3, seed: 5))
                let rows = readout == .allSteps ? b * t : b
                let w = randomArray(rows * 2, seed: 6)
                var out = [Float](repeating: 0, count: rows * 2)
                let ws = SequenceModelWorkspace()
                func loss() -> Double {
                    var rng = SeededGenerator(seed: 0)
                    model.forward(features: x.pointer, batch: b, steps: t, lengths: lengths, readout: readout, output: &out,
                                  rng: &rng, workspace: ws, arena: arena)
                    return zip(w, out).reduce(0) { $0 + Double($1.0 * $1.1) }
                }
                _ = loss()
                arena.zeroGradients()
                model.backward(features: x.pointer, batch: b, steps: t, lengths: lengths, readout: readout, outputGradient: w,
                               workspace: ws, arena: arena)
                let report = GradientChecker(entriesPerTensor: 10).check(arena, loss: loss)
                XCTAssertTrue(report.passed, "\(readout) \(kind) bi \(bidirectional): \(report)")
            }
        }
    }

    /// Mean pooling ignores the padding: a row's output is the same whatever follows its end.
    func testPaddingDoesNotLeakIntoPooledOutputs() throws {
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(2), kind: .lstm, hiddenSize: 3, bidirectional: true, outputs: 1,
                                      layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        for readout in [SequenceModel.Readout.mean, .finalState] {
            var x = randomArray(2 * 4 * 2, seed: 2)
            var a = [Float](repeating: 0, count: 2), c = a
            var rng = SeededGenerator(seed: 0)
            model.forward(features: x, batch: 2, steps: 4, lengths: [4, 2], readout: readout, output: &a, rng: &rng,
                          workspace: SequenceModelWorkspace(), arena: arena)
            for i in 12..<16 { x[i] = 99 }   // row 1, steps 2 and 3: padding
            model.forward(features: x, batch: 2, steps: 4, lengths: [4, 2], readout: readout, output: &c, rng: &rng,
                          workspace: SequenceModelWorkspace(), arena: arena)
            XCTAssertEqual(a, c, "\(readout)")
        }
    }
}

/// Token input: the first layer reads per-symbol projection tables; every parameter (the
/// embedding and W_ih included) against finite differences, with ragged rows and both directions.
final class TokenSequenceModelTests: XCTestCase {
    /// Both token paths: the per-symbol table (6 symbols, 15 tokens a batch) and the embedded
    /// tokens (40 symbols, more than the batch holds).
    func testTokenInputGradients() throws {
        for (kind, bidirectional, readout, vocabulary) in [(CellKind.lstm, true, SequenceModel.Readout.allSteps, 6),
                                                           (.gru, false, .finalState, 6), (.rnnTanh, true, .mean, 6),
                                                           (.lstm, true, .allSteps, 40), (.gru, false, .mean, 40)] {
            var layout = ParameterLayout()
            let model = try SequenceModel(input: .tokens(vocabulary: vocabulary, embedding: 3), kind: kind, hiddenSize: 4, layers: 2,
                                          bidirectional: bidirectional, outputs: 3, layout: &layout)
            let arena = ParameterArena(layout: layout, seed: 9)
            let (b, t) = (3, 5)
            let tokens: [Int32] = [0, 5, 2, 2, 1, 3, 3, 4, 0, 0, 5, 1, 2, 0, 0]
            let lengths: [Int32] = [5, 3, 2]
            let rows = readout == .allSteps ? b * t : b
            let w = randomArray(rows * 3, seed: 10)
            var out = [Float](repeating: 0, count: rows * 3)
            let ws = SequenceModelWorkspace()
            func loss() -> Double {
                var rng = SeededGenerator(seed: 0)
                model.forward(tokens: tokens, batch: b, steps: t, lengths: lengths, readout: readout, output: &out,
                              rng: &rng, workspace: ws, arena: arena)
                return zip(w, out).reduce(0) { $0 + Double($1.0 * $1.1) }
            }
            _ = loss()
            arena.zeroGradients()
            model.backward(tokens: tokens, batch: b, steps: t, lengths: lengths, readout: readout, outputGradient: w,
                           workspace: ws, arena: arena)
            let report = GradientChecker(entriesPerTensor: 12).check(arena, loss: loss)
            XCTAssertEqual(model.usesTable(batch: b, steps: t), vocabulary <= b * t)
            XCTAssertTrue(report.passed, "\(kind) bi \(bidirectional) \(readout) V \(vocabulary): \(report)")
        }
    }

    /// The table lookup gives the same outputs, bit for bit, as embedding the tokens and feeding
    /// the stack the embedded features.
    func testTokenInputEqualsEmbeddedFeatures() throws {
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .tokens(vocabulary: 7, embedding: 4), kind: .lstm, hiddenSize: 5, layers: 2,
                                      bidirectional: true, outputs: 2, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 2)
        let (b, t) = (2, 6)
        let tokens: [Int32] = [1, 6, 0, 3, 3, 2, 5, 4, 4, 1, 0, 0]
        var embedded = [Float](repeating: 0, count: b * t * 4)
        model.embedding!.forward(tokens, rows: b * t, output: &embedded, arena: arena)
        var rng = SeededGenerator(seed: 0)
        var viaTokens = [Float](repeating: 0, count: b * t * 2)
        model.forward(tokens: tokens, batch: b, steps: t, lengths: [6, 4], output: &viaTokens, rng: &rng,
                      workspace: SequenceModelWorkspace(), arena: arena)
        var viaStack = [Float](repeating: 0, count: b * t * 10)
        model.stack.forward(input: embedded, batch: b, steps: t, lengths: [6, 4], initialState: nil, output: &viaStack,
                            finalState: nil, rng: &rng, workspace: RecurrentStackWorkspace(), arena: arena)
        var viaFeatures = [Float](repeating: 0, count: b * t * 2)
        model.head.forward(viaStack, rows: b * t, output: &viaFeatures, arena: arena)
        XCTAssertEqual(viaTokens, viaFeatures)
    }

    /// A batch too small for the table (12 tokens, 20 symbols) gives its rows the same outputs,
    /// bit for bit, as a batch large enough for it (24 tokens) holding the same rows.
    func testEmbeddedTokensEqualTheTable() throws {
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .tokens(vocabulary: 20, embedding: 4), kind: .lstm, hiddenSize: 5, layers: 2,
                                      bidirectional: true, outputs: 2, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 2)
        let small: [Int32] = [1, 19, 0, 3, 13, 2, 5, 4, 17, 1, 0, 0]
        let large = small + [7, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 6]
        XCTAssertFalse(model.usesTable(batch: 2, steps: 6))
        XCTAssertTrue(model.usesTable(batch: 4, steps: 6))
        var rng = SeededGenerator(seed: 0)
        var a = [Float](repeating: 0, count: 2 * 6 * 2), b = [Float](repeating: 0, count: 4 * 6 * 2)
        model.forward(tokens: small, batch: 2, steps: 6, lengths: [6, 4], output: &a, rng: &rng,
                      workspace: SequenceModelWorkspace(), arena: arena)
        model.forward(tokens: large, batch: 4, steps: 6, lengths: [6, 4, 6, 6], output: &b, rng: &rng,
                      workspace: SequenceModelWorkspace(), arena: arena)
        XCTAssertEqual(a, Array(b.prefix(a.count)))
    }
}
