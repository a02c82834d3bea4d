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

    /// Dropout on the head's input, with dropout between the layers too, for every readout and both
    /// token paths: every parameter against finite differences under the same masks (a fixed seed).
    func testGradientsWithOutputDropout() throws {
        let cases: [(SequenceModel.Input, CellKind, Bool, SequenceModel.Readout)] = [
            (.features(3), .lstm, true, .allSteps), (.features(3), .gru, false, .lastStep),
            (.features(3), .lstm, true, .finalState), (.features(3), .gru, true, .mean),
            (.tokens(vocabulary: 6, embedding: 3), .lstm, false, .allSteps), (.tokens(vocabulary: 40, embedding: 3), .gru, true, .mean),
        ]
        for (input, kind, bidirectional, readout) in cases {
            var layout = ParameterLayout()
            let model = try SequenceModel(input: input, kind: kind, hiddenSize: 4, layers: 2, bidirectional: bidirectional,
                                          dropout: 0.3, outputDropout: 0.4, outputs: 2, layout: &layout)
            let arena = ParameterArena(layout: layout, seed: 4)
            let (b, t) = (3, 5)
            let lengths: [Int32]? = readout == .lastStep ? nil : [5, 2, 4]
            let x = TestBuffer(randomArray(b * t * 3, seed: 5))
            let tokens: [Int32] = [0, 5, 2, 2, 1, 3, 3, 4, 0, 0, 5, 1, 2, 0, 0]
            let isTokens = input != .features(3)
            let rows = readout == .allSteps ? b * t : b
            let w = randomArray(rows * 2, seed: 6)
            var out = [Float](repeating: 0, count: rows * 2)
            let ws = SequenceModelWorkspace()
            func loss(training: Bool = true) -> Double {
                var rng = SeededGenerator(seed: 11)   // the same masks every time
                model.forward(features: isTokens ? nil : x.pointer, tokens: isTokens ? tokens : nil, batch: b, steps: t,
                              lengths: lengths, readout: readout, output: &out, training: training, rng: &rng, workspace: ws,
                              arena: arena)
                return zip(w, out).reduce(0) { $0 + Double($1.0 * $1.1) }
            }
            XCTAssertNotEqual(loss(training: false), loss(), "\(readout): the masks drop something")
            arena.zeroGradients()
            model.backward(features: isTokens ? nil : x.pointer, tokens: isTokens ? tokens : nil, batch: b, steps: t,
                           lengths: lengths, readout: readout, outputGradient: w, workspace: ws, arena: arena)
            let report = GradientChecker(entriesPerTensor: 10).check(arena, loss: { loss() })
            XCTAssertTrue(report.passed, "\(input) \(readout) \(kind) bi \(bidirectional): \(report)")
        }
    }

    /// Inverted dropout on the head's input in training only: each input kept with 1 − p and scaled
    /// by 1/(1 − p), the masks seeded; evaluation gives the model without it, and p = 0 (or no
    /// training) draws nothing from the random stream.
    func testOutputDropoutOnlyInTrainingAndSeeded() throws {
        func model(_ p: Float) throws -> (SequenceModel, ParameterArena) {
            var layout = ParameterLayout()
            let m = try SequenceModel(input: .tokens(vocabulary: 5, embedding: 3), kind: .gru, hiddenSize: 8, layers: 2,
                                      outputDropout: p, outputs: 4, layout: &layout)
            return (m, ParameterArena(layout: layout, seed: 2))
        }
        let (plain, plainArena) = try model(0), (dropped, arena) = try model(0.5)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: plainArena.values, count: plainArena.count)),
                       Array(UnsafeBufferPointer(start: arena.values, count: arena.count)), "no parameters of its own")
        let (b, t) = (4, 6)
        let tokens = (0..<(b * t)).map { Int32($0 * 7 % 5) }
        let ws = SequenceModelWorkspace()
        func run(_ m: SequenceModel, _ a: ParameterArena, training: Bool, seed: UInt64) -> (out: [Float], next: UInt64) {
            var out = [Float](repeating: 0, count: b * t * 4)
            var rng = SeededGenerator(seed: seed)
            m.forward(tokens: tokens, batch: b, steps: t, output: &out, training: training, rng: &rng, workspace: ws, arena: a)
            return (out, rng.next())
        }
        var untouched = SeededGenerator(seed: 1)
        let fresh = untouched.next()
        XCTAssertEqual(run(dropped, arena, training: false, seed: 1).out, run(plain, plainArena, training: false, seed: 1).out)
        XCTAssertEqual(run(dropped, arena, training: false, seed: 1).next, fresh, "evaluation draws nothing")
        XCTAssertEqual(run(plain, plainArena, training: true, seed: 1).out, run(plain, plainArena, training: false, seed: 1).out)
        XCTAssertEqual(run(plain, plainArena, training: true, seed: 1).next, fresh, "p = 0 draws nothing")
        XCTAssertEqual(run(dropped, arena, training: true, seed: 1).out, run(dropped, arena, training: true, seed: 1).out)
        XCTAssertNotEqual(run(dropped, arena, training: true, seed: 1).out, run(dropped, arena, training: true, seed: 2).out)
        XCTAssertNotEqual(run(dropped, arena, training: true, seed: 1).next, fresh)
        // The mask of the last run: 0 or 1/(1 − p) = 2, about half of each.
        let n = b * t * dropped.stack.outputSize
        let mask = Array(UnsafeBufferPointer(start: ws.buffer(.outputMask, n), count: n))
        XCTAssertTrue(mask.allSatisfy { $0 == 0 || $0 == 2 }, "\(mask)")
        XCTAssertEqual(Double(mask.filter { $0 == 0 }.count) / Double(n), 0.5, accuracy: 0.1)
        var layout = ParameterLayout()
        for p: Float in [1, -0.1, .nan] {
            XCTAssertThrowsError(try SequenceModel(input: .features(2), kind: .gru, hiddenSize: 3, outputDropout: p, outputs: 1,
                                                   layout: &layout)) { XCTAssertTrue("\($0)".contains("invalid output dropout"), "\($0)") }
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
