import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Attention and the encoder–decoder model: finite differences, padding, step-by-step
/// decoding against the training forward, greedy and beam search, and a tiny learning task.
final class Seq2SeqTests: XCTestCase {
    // MARK: Attention

    struct AttentionSetup {
        let attention: Attention
        let arena: ParameterArena
        let b = 4, t = 3, s = 5
        let lengths: [Int32] = [5, 2, 1, 0]
        let d: TestBuffer, e: TestBuffer
    }

    func makeAttention(_ kind: AttentionKind, hd: Int = 4, he: Int = 4, seed: UInt64 = 3) throws -> AttentionSetup {
        var layout = ParameterLayout()
        let attention = try Attention(kind: kind, decoderSize: hd, encoderSize: he, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: seed)
        let (b, t, s) = (4, 3, 5)
        var e = randomArray(b * s * he, seed: seed + 2)
        // Encoder outputs are zero past each row's end, as the stack writes them.
        let lengths: [Int32] = [5, 2, 1, 0]
        for r in 0..<b { for j in Int(lengths[r])..<s { for c in 0..<he { e[(r * s + j) * he + c] = 0 } } }
        return AttentionSetup(attention: attention, arena: arena, d: TestBuffer(randomArray(b * t * hd, seed: seed + 1)),
                              e: TestBuffer(e))
    }

    func testAttentionGradientsForEveryKindWithRaggedSources() throws {
        for (kind, he) in [(AttentionKind.dot, 4), (.general, 4), (.general, 6), (.additive, 4), (.additive, 6)] {
            let su = try makeAttention(kind, he: he)
            let (a, b, t, s) = (su.attention, su.b, su.t, su.s)
            let ws = AttentionWorkspace()
            var y = [Float](repeating: 0, count: b * t * a.decoderSize)
            let w = randomArray(y.count, seed: 9)
            func loss() -> Double {
                a.forward(decoder: su.d.pointer, batch: b, steps: t, encoder: su.e.pointer, sourceSteps: s,
                          sourceLengths: su.lengths, output: &y, workspace: ws, arena: su.arena)
                return zip(w, y).reduce(0) { $0 + Double($1.0 * $1.1) }
            }
            _ = loss()
            su.arena.zeroGradients()
            var dd = [Float](repeating: 0, count: su.d.count), de = [Float](repeating: 0, count: su.e.count)
            a.backward(decoder: su.d.pointer, batch: b, steps: t, encoder: su.e.pointer, sourceSteps: s,
                       sourceLengths: su.lengths, outputGradient: w, decoderGradient: &dd, encoderGradient: &de,
                       workspace: ws, arena: su.arena)
            let checker = GradientChecker(entriesPerTensor: 30)
            var report = checker.check(su.arena, loss: loss)
            report.merge(checker.check("d", values: su.d.pointer, analytic: dd, loss: loss))
            report.merge(checker.check("e", values: su.e.pointer, analytic: de, loss: loss))
            XCTAssertTrue(report.passed, "\(kind) He \(he): \(report)")
            // Padding steps of e get no gradient, and a row with no source step attends to nothing.
            for r in 0..<b { for j in Int(su.lengths[r])..<s { for c in 0..<he {
                XCTAssertEqual(de[(r * s + j) * he + c], 0, "\(kind): ∂e at padding of row \(r)")
            } } }
            XCTAssertTrue(y.allSatisfy(\.isFinite), "\(kind)")
        }
    }

    func testAttentionRejectsDotWithUnequalSizes() {
        var layout = ParameterLayout()
        XCTAssertThrowsError(try Attention(kind: .dot, decoderSize: 4, encoderSize: 5, layout: &layout))
    }

    func testAttentionStepEqualsForward() throws {
        for kind in AttentionKind.allCases {
            let su = try makeAttention(kind, he: kind == .dot ? 4 : 6)
            let (a, b, t, s, hd) = (su.attention, su.b, su.t, su.s, su.attention.decoderSize)
            var y = [Float](repeating: 0, count: b * t * hd), alpha = [Float](repeating: 0, count: b * t * s)
            a.forward(decoder: su.d.pointer, batch: b, steps: t, encoder: su.e.pointer, sourceSteps: s,
                      sourceLengths: su.lengths, output: &y, weights: &alpha, workspace: AttentionWorkspace(), arena: su.arena)
            let ws = AttentionWorkspace()
            a.prepare(encoder: su.e.pointer, batch: b, sourceSteps: s, workspace: ws, arena: su.arena)
            var worst: Float = 0
            var dt = [Float](repeating: 0, count: b * hd), yt = dt, at = [Float](repeating: 0, count: b * s)
            for step in 0..<t {
                for r in 0..<b { for c in 0..<hd { dt[r * hd + c] = su.d.pointer[(r * t + step) * hd + c] } }
                a.step(decoder: dt, batch: b, encoder: su.e.pointer, sourceSteps: s, sourceLengths: su.lengths,
                       output: &yt, weights: &at, workspace: ws, arena: su.arena)
                for r in 0..<b {
                    for c in 0..<hd { worst = max(worst, abs(yt[r * hd + c] - y[(r * t + step) * hd + c])) }
                    for j in 0..<s { worst = max(worst, abs(at[r * s + j] - alpha[(r * t + step) * s + j])) }
                }
            }
            XCTAssertEqual(worst, 0, "\(kind): largest difference \(worst)")
            // Weights: a distribution over the valid steps, zero elsewhere.
            for r in 0..<b { for i in 0..<t {
                let row = alpha[((r * t + i) * s)..<((r * t + i + 1) * s)]
                XCTAssertEqual(row.reduce(0, +), su.lengths[r] > 0 ? 1 : 0, accuracy: 1e-5)
                XCTAssertTrue(row.dropFirst(Int(su.lengths[r])).allSatisfy { $0 == 0 })
            } }
        }
    }

    // MARK: The model

    static let bos: Int32 = 5, eos: Int32 = 6

    func config(_ cell: CellKind = .lstm, attention: AttentionKind? = nil, bidirectional: Bool = false,
                layers: Int = 1, caption: Bool = false, dropout: Float = 0) -> Seq2SeqConfiguration {
        Seq2SeqConfiguration(cell: cell, sourceVocabulary: caption ? nil : 6, sourceFeatures: caption ? 4 : nil,
                             targetVocabulary: 7, embeddingSize: 3, hiddenSize: 3, layers: layers,
                             bidirectionalEncoder: bidirectional, attention: attention, dropout: dropout)
    }

    func makeModel(_ c: Seq2SeqConfiguration, seed: UInt64 = 11) throws -> (Seq2SeqModel, ParameterArena) {
        var layout = ParameterLayout()
        let model = try Seq2SeqModel(c, layout: &layout)
        return (model, ParameterArena(layout: layout, seed: seed))
    }

    /// Three examples with ragged sources and targets (padded with −1).
    func source(_ c: Seq2SeqConfiguration) -> Seq2SeqSource {
        c.isCaption ? Seq2SeqSource(features: randomArray(3 * 4, seed: 40), batch: 3)
                    : Seq2SeqSource(sequences: [[1, 2, 3, 4], [4, 0], [2]])
    }

    func batch(_ c: Seq2SeqConfiguration) -> Seq2SeqBatch {
        Seq2SeqBatch(source: source(c), targetSequences: [[0, 1, 2], [3], [4, 4]], bos: Self.bos, eos: Self.eos)
    }

    func gradientReport(_ c: Seq2SeqConfiguration, training: Bool = false) throws -> GradientChecker.Report {
        let (model, arena) = try makeModel(c)
        let data = batch(c)
        let ws = Seq2SeqWorkspace()
        func loss() -> Double {
            var rng = SeededGenerator(seed: 5)   // the same dropout masks every time
            try! model.forward(data, training: training, rng: &rng, workspace: ws, arena: arena)
            return Double(model.loss(data, workspace: ws))
        }
        _ = loss()
        arena.zeroGradients()
        try model.backward(data, workspace: ws, arena: arena)
        return GradientChecker(absoluteTolerance: 5e-5, relativeTolerance: 2e-2, entriesPerTensor: 10).check(arena, loss: loss)
    }

    func testModelGradientsForEveryVariant() throws {
        let variants: [(String, Seq2SeqConfiguration)] = [
            ("lstm, no attention", config(.lstm)),
            ("lstm, dot", config(.lstm, attention: .dot)),
            ("gru, general", config(.gru, attention: .general)),
            ("gru, additive", config(.gru, attention: .additive)),
            ("lstm, bidirectional, general", config(.lstm, attention: .general, bidirectional: true)),
            ("gru, bidirectional, 2 layers, additive", config(.gru, attention: .additive, bidirectional: true, layers: 2)),
            ("rnn, bidirectional, no attention", config(.rnnTanh, bidirectional: true)),
            ("lstm caption, 2 layers", config(.lstm, layers: 2, caption: true)),
            ("gru caption", config(.gru, caption: true)),
        ]
        for (name, c) in variants {
            let report = try gradientReport(c)
            XCTAssertTrue(report.passed, "\(name): \(report)")
        }
    }

    func testModelGradientsWithDropout() throws {
        let report = try gradientReport(config(.lstm, attention: .dot, bidirectional: true, layers: 2, dropout: 0.3),
                                        training: true)
        XCTAssertTrue(report.passed, "\(report)")
    }

    func testParameterNames() throws {
        let (model, arena) = try makeModel(config(.lstm, attention: .additive, bidirectional: true))
        let names = Set(arena.parameters.map(\.name))
        for name in ["encoder.embedding.weight", "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0_reverse",
                     "decoder.embedding.weight", "decoder.rnn.weight_hh_l0", "attention.key.weight",
                     "attention.query.weight", "attention.v.weight", "attention.combine.weight", "attention.combine.bias",
                     "head.weight", "head.bias"] {
            XCTAssertTrue(names.contains(name), "missing \(name) in \(names.sorted())")
        }
        XCTAssertEqual(model.decoder.hiddenSize, 6)
        XCTAssertEqual(arena["head.weight"]?.cols, 6)
        let (_, caption) = try makeModel(config(.gru, caption: true))
        XCTAssertEqual(caption["encoder.projection.weight"].map { [$0.rows, $0.cols] }, [3, 4])
    }

    func testInvalidConfigurationsAndBatchesThrow() throws {
        var layout = ParameterLayout()
        var c = config(caption: true)
        c.attention = .dot
        XCTAssertThrowsError(try Seq2SeqModel(c, layout: &layout))
        c = config()
        c.sourceFeatures = 4
        XCTAssertThrowsError(try Seq2SeqModel(c, layout: &layout))
        let (model, arena) = try makeModel(config(attention: .dot))
        var bad = batch(config())
        bad.targets[0] = 7
        var rng = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try model.forward(bad, rng: &rng, workspace: Seq2SeqWorkspace(), arena: arena))
        XCTAssertThrowsError(try model.backward(batch(config()), workspace: Seq2SeqWorkspace(), arena: arena))
        XCTAssertThrowsError(try model.beamSearch(source(config()), beamWidth: 0, bos: 5, eos: 6, maxLength: 3, arena: arena))
    }

    /// Source steps past a row's length, an extra padded step, and decoder inputs whose
    /// targets are ignored change neither the loss nor any gradient.
    func testPaddingChangesNothing() throws {
        for c in [config(.lstm, attention: .additive, bidirectional: true), config(.gru, attention: .dot),
                  config(.gru, bidirectional: true)] {
            let (model, arena) = try makeModel(c)
            func run(_ data: Seq2SeqBatch) throws -> (Float, [Float]) {
                var rng = SeededGenerator(seed: 1)
                let ws = Seq2SeqWorkspace()
                arena.zeroGradients()
                try model.forward(data, rng: &rng, workspace: ws, arena: arena)
                let loss = model.loss(data, workspace: ws)
                try model.backward(data, workspace: ws, arena: arena)
                return (loss, Array(UnsafeBufferPointer(start: arena.gradients, count: arena.count)))
            }
            let plain = batch(c)
            let (loss, gradients) = try run(plain)
            // Other padding ids (even out of range), one more padded source step, other decoder inputs at padding.
            var tokens: [Int32] = []
            for r in 0..<3 {
                for i in 0..<5 { tokens.append(i < plain.source.lengths[r] ? plain.source.tokens[r * 4 + i] : 99) }
            }
            var padded = plain
            padded.source = Seq2SeqSource(tokens: tokens, batch: 3, steps: 5, lengths: plain.source.lengths)
            for i in padded.targetInput.indices where padded.targetInput[i] < 0 { padded.targetInput[i] = 2 }
            let (loss2, gradients2) = try run(padded)
            let worst = zip(gradients, gradients2).map { abs($0 - $1) }.max() ?? 0
            XCTAssertEqual(loss, loss2, accuracy: 1e-6)
            XCTAssertLessThan(worst, 1e-6, "\(c): largest gradient difference \(worst)")
        }
    }

    /// Feeding the teacher-forced inputs one step at a time gives the training forward's logits.
    func testStepByStepDecodingReproducesTrainingLogits() throws {
        for c in [config(.lstm), config(.lstm, attention: .dot, bidirectional: true), config(.gru, attention: .general, layers: 2),
                  config(.gru, attention: .additive), config(.lstm, layers: 2, caption: true)] {
            let (model, arena) = try makeModel(c)
            // Equal target lengths: decodeStep takes only real ids.
            let data = Seq2SeqBatch(source: source(c), targetSequences: [[0, 1, 2], [3, 3, 1], [4, 4, 0]],
                                    bos: Self.bos, eos: Self.eos)
            let ws = Seq2SeqWorkspace()
            var rng = SeededGenerator(seed: 1)
            try model.forward(data, rng: &rng, workspace: ws, arena: arena)
            let expected = ws.logits
            let (b, t, v) = (3, data.targetSteps, model.targetVocabulary)
            let state = try model.beginDecoding(data.source, arena: arena)
            var logits = [Float](repeating: 0, count: b * v)
            var worst: Float = 0
            for step in 0..<t {
                try model.decodeStep(tokens: (0..<b).map { data.targetInput[$0 * t + step] }, state: state, logits: &logits,
                                     arena: arena)
                for r in 0..<b { for j in 0..<v {
                    worst = max(worst, abs(logits[r * v + j] - expected[(r * t + step) * v + j]))
                } }
            }
            XCTAssertLessThan(worst, 1e-5, "\(c): largest difference \(worst)")
        }
    }

    /// The decoding state's attention weights (what `rnn explain` shows): each row sums to 1 over
    /// its valid source steps and is 0 on the padding, for every kind and a ragged batch.
    func testDecodingAttentionWeightsSumToOneOverValidSteps() throws {
        for kind in [AttentionKind.dot, .general, .additive] {
            let c = config(.gru, attention: kind, bidirectional: kind == .dot)
            let (model, arena) = try makeModel(c)
            let source = source(c)
            let state = try model.beginDecoding(source, arena: arena)
            let (b, s) = (source.batch, source.steps)
            var logits = [Float](repeating: 0, count: b * model.targetVocabulary)
            for tokens: [Int32] in [[Self.bos, Self.bos, Self.bos], [0, 3, 4], [1, 3, 4]] {
                try model.decodeStep(tokens: tokens, state: state, logits: &logits, arena: arena)
                XCTAssertEqual(state.attentionWeights.count, b * s)
                for r in 0..<b {
                    let n = Int(source.lengths[r])
                    let row = state.attentionWeights[(r * s)..<((r + 1) * s)]
                    XCTAssertEqual(row.prefix(n).reduce(0, +), 1, accuracy: 1e-5, "\(kind) row \(r)")
                    XCTAssertTrue(row.prefix(n).allSatisfy { $0 >= 0 }, "\(kind) row \(r)")
                    XCTAssertEqual(Array(row.dropFirst(n)), [Float](repeating: 0, count: s - n), "\(kind) row \(r)")
                }
            }
        }
    }

    /// −(summed cross-entropy of the decoded sequence + EOS) = its reported log-probability.
    func scoreOf(_ model: Seq2SeqModel, arena: ParameterArena, source: Seq2SeqSource, row: Int,
                 _ h: Seq2SeqHypothesis) throws -> Float {
        let one: Seq2SeqSource
        if source.features.isEmpty {
            let s = source.steps
            one = Seq2SeqSource(tokens: Array(source.tokens[(row * s)..<((row + 1) * s)]), batch: 1, steps: s,
                                lengths: [source.lengths[row]])
        } else {
            let f = source.features.count / source.batch
            one = Seq2SeqSource(features: Array(source.features[(row * f)..<((row + 1) * f)]), batch: 1)
        }
        var data = Seq2SeqBatch(source: one, targetSequences: [h.tokens], bos: Self.bos, eos: Self.eos)
        if !h.reachedEOS { data.targets[data.targets.count - 1] = -1 }
        var rng = SeededGenerator(seed: 1)
        let ws = Seq2SeqWorkspace()
        try model.forward(data, rng: &rng, workspace: ws, arena: arena)
        let loss = model.loss(data, workspace: ws)
        return -loss * Float(ws.tokenCount)
    }

    func testBeamOfOneEqualsGreedyAndWiderBeamsAreAtLeastAsLikely() throws {
        for c in [config(.lstm, attention: .dot), config(.gru, attention: .additive, bidirectional: true),
                  config(.lstm, bidirectional: true), config(.gru, caption: true)] {
            for seed in [11, 12, 13] as [UInt64] {
                let (model, arena) = try makeModel(c, seed: seed)
                let src = source(c)
                let greedy = try model.greedy(src, bos: Self.bos, eos: Self.eos, maxLength: 6, arena: arena)
                let one = try model.beamSearch(src, beamWidth: 1, bos: Self.bos, eos: Self.eos, maxLength: 6, arena: arena)
                XCTAssertEqual(greedy, one, "\(c) seed \(seed)")
                let three = try model.beamSearch(src, beamWidth: 3, bos: Self.bos, eos: Self.eos, maxLength: 6, arena: arena)
                for r in 0..<3 {
                    XCTAssertGreaterThanOrEqual(three[r].logProbability, greedy[r].logProbability, "\(c) seed \(seed) row \(r)")
                    for h in [greedy[r], three[r]] {
                        let score = try scoreOf(model, arena: arena, source: src, row: r, h)
                        XCTAssertEqual(score, h.logProbability, accuracy: 1e-4, "\(c) seed \(seed) row \(r): \(h)")
                    }
                }
            }
        }
    }

    // MARK: Learning

    /// Reversing 3-digit strings: the loss falls and greedy decoding gets most strings right.
    func testLearnsToReverseDigitStrings() throws {
        let c = Seq2SeqConfiguration(cell: .gru, sourceVocabulary: 10, targetVocabulary: 12, embeddingSize: 12,
                                     hiddenSize: 24, attention: .dot)
        let (bos, eos): (Int32, Int32) = (10, 11)
        var layout = ParameterLayout()
        let model = try Seq2SeqModel(c, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 7)
        let optimizer = Adam(arena: arena, learningRate: 0.01)
        var rng = SeededGenerator(seed: 3)
        func strings(_ n: Int) -> [[Int32]] {
            (0..<n).map { _ in (0..<3).map { _ in Int32(rng.nextInt(below: 10)) } }
        }
        let ws = Seq2SeqWorkspace()
        var first: Float = 0, last: Float = 0
        let steps = 250
        for step in 0..<steps {
            let x = strings(16)
            let data = Seq2SeqBatch(source: Seq2SeqSource(sequences: x), targetSequences: x.map { $0.reversed() },
                                    bos: bos, eos: eos)
            arena.zeroGradients()
            try model.forward(data, training: true, rng: &rng, workspace: ws, arena: arena)
            let loss = model.loss(data, workspace: ws)
            try model.backward(data, workspace: ws, arena: arena)
            GradientClipping.clip(arena, maxNorm: 5)
            optimizer.step(arena)
            if step < 10 { first += loss / 10 }
            if step >= steps - 10 { last += loss / 10 }
        }
        XCTAssertLessThan(last, first * 0.3, "loss \(first) → \(last)")
        let test = strings(50)
        let decoded = try model.greedy(Seq2SeqSource(sequences: test), bos: bos, eos: eos, maxLength: 5, arena: arena)
        let correct = zip(test, decoded).filter { Array($0.reversed()) == $1.tokens && $1.reachedEOS }.count
        XCTAssertGreaterThanOrEqual(correct, 40, "\(correct)/50 reversed correctly; loss \(first) → \(last)")
        // Trained, most rows reach EOS: beam search with K = 1 must still be greedy.
        XCTAssertEqual(try model.beamSearch(Seq2SeqSource(sequences: test), beamWidth: 1, bos: bos, eos: eos, maxLength: 5,
                                            arena: arena), decoded)
        let beam = try model.beamSearch(Seq2SeqSource(sequences: test), beamWidth: 3, bos: bos, eos: eos, maxLength: 5,
                                        arena: arena)
        for (g, k) in zip(decoded, beam) {
            XCTAssertGreaterThanOrEqual(k.logProbability, g.logProbability, "beam \(k) against greedy \(g)")
        }
        let beamCorrect = zip(test, beam).filter { Array($0.reversed()) == $1.tokens && $1.reachedEOS }.count
        XCTAssertGreaterThanOrEqual(beamCorrect, 40, "beam: \(beamCorrect)/50 reversed correctly")
    }
}
