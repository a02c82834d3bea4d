import Foundation

/// An encoder–decoder (sequence-to-sequence) model, optionally with attention (Sutskever et
/// al. 2014; Bahdanau et al. 2015; Luong et al. 2015), or a feature-to-sequence captioner.
///
///     source (B, S) → Embedding(Vs, E) → encoder RecurrentStack (dirs) → e (B, S, Hd), state_S
///                                                                            │ bridge
///     target input (B, T) → Embedding(Vt, E) → decoder RecurrentStack(Hd) ← state_0 (L, B, S_dec)
///                                                    → d (B, T, Hd) → [Attention(d, e)] → Linear → logits (B, T, Vt)
///
///     captions: features (B, F) → Linear(F, L·S_dec) → tanh → state_0
///
/// Hd = dirs·H. The bridge starts decoder layer l from encoder layer l's final state with the
/// forward and reverse directions concatenated: [h_f | h_r] (GRU, RNN) or [h_f | h_r | c_f | c_r]
/// (LSTM, keeping the [h | c] row layout).
///
/// Parameters: `encoder.embedding.weight`, `encoder.rnn.*`, or `encoder.projection.weight/bias`
/// for captions; `decoder.embedding.weight`, `decoder.rnn.*`, `attention.*`, `head.weight`,
/// `head.bias`.
public struct Seq2SeqModel: Sendable {
    public let configuration: Seq2SeqConfiguration
    public let sourceEmbedding: Embedding?
    public let encoder: RecurrentStack?
    /// Captions: W (L·S_dec, F), b (L·S_dec).
    public let projection: Linear?
    public let targetEmbedding: Embedding
    public let decoder: RecurrentStack
    public let attention: Attention?
    /// (Vt, Hd).
    public let head: Linear

    /// Registers every parameter in `layout`, in the order listed in the type's summary.
    /// - Throws: `RecurrentError.invalidArgument` for a bad configuration (see
    ///   `Seq2SeqConfiguration.validate`).
    public init(_ configuration: Seq2SeqConfiguration, initialization: RecurrentInitialization = .pytorch,
                layout: inout ParameterLayout) throws {
        try configuration.validate()
        let c = configuration
        self.configuration = c
        if let vs = c.sourceVocabulary {
            sourceEmbedding = Embedding("encoder.embedding", vocabularySize: vs, embeddingSize: c.embeddingSize,
                                        layout: &layout)
            encoder = try RecurrentStack(kind: c.cell, inputSize: c.embeddingSize, hiddenSize: c.hiddenSize,
                                         layers: c.layers, bidirectional: c.bidirectionalEncoder, dropout: c.dropout,
                                         initialization: initialization, prefix: "encoder.rnn", layout: &layout)
            projection = nil
        } else {
            sourceEmbedding = nil
            encoder = nil
            // The decoder's state width S_dec (Hd for RNN/GRU, 2·Hd, [h | c], for LSTM), read off a
            // cell built into a layout of its own (the model's layout keeps its order).
            var probeLayout = ParameterLayout()
            let stateSize = c.cell.makeCell(prefix: "probe", inputSize: c.embeddingSize, hiddenSize: c.decoderHiddenSize,
                                            layer: 0, suffix: "", initialization: initialization, layout: &probeLayout).stateSize
            try require(c.layers >= 1, .invalidArgument(name: "layers", value: "\(c.layers)", expected: "at least 1"))
            try require(c.hiddenSize >= 1, .invalidArgument(name: "hidden size", value: "\(c.hiddenSize)",
                                                            expected: "at least 1"))
            projection = Linear("encoder.projection", inputSize: c.sourceFeatures!, outputSize: c.layers * stateSize,
                                layout: &layout)
        }
        targetEmbedding = Embedding("decoder.embedding", vocabularySize: c.targetVocabulary,
                                    embeddingSize: c.embeddingSize, layout: &layout)
        decoder = try RecurrentStack(kind: c.cell, inputSize: c.embeddingSize, hiddenSize: c.decoderHiddenSize,
                                     layers: c.layers, dropout: c.dropout, initialization: initialization,
                                     prefix: "decoder.rnn", layout: &layout)
        attention = try c.attention.map {
            try Attention(kind: $0, decoderSize: c.decoderHiddenSize, encoderSize: c.decoderHiddenSize,
                          prefix: "attention", layout: &layout)
        }
        head = Linear("head", inputSize: c.decoderHiddenSize, outputSize: c.targetVocabulary, layout: &layout)
    }

    /// Vt.
    public var targetVocabulary: Int { configuration.targetVocabulary }

    // MARK: Validation

    /// Checks a source against the model.
    /// - Throws: `RecurrentError.shapeMismatch` or `.invalidArgument` naming the first problem.
    public func validate(_ source: Seq2SeqSource) throws {
        let b = source.batch
        try require(b >= 1, .invalidArgument(name: "batch", value: "\(b)", expected: "at least 1"))
        if let projection {
            let f = projection.inputSize
            try require(source.features.count == b * f, .shapeMismatch(
                operation: "Seq2SeqModel source features", expected: "(B, F) = (\(b), \(f))",
                found: "\(source.features.count) scalars\(source.tokens.isEmpty ? "" : " (a caption model takes features, not tokens)")"))
            return
        }
        let s = source.steps
        try require(s >= 1, .invalidArgument(name: "source steps", value: "\(s)",
                                             expected: "at least 1 (a token model takes tokens, not features)"))
        try require(source.tokens.count == b * s, .shapeMismatch(
            operation: "Seq2SeqModel source tokens", expected: "(B, S) = (\(b), \(s))", found: "\(source.tokens.count) ids"))
        try RecurrentStack.validate(lengths: source.lengths, batch: b, steps: s)
        let v = sourceEmbedding!.vocabularySize
        for r in 0..<b {
            for i in 0..<Int(source.lengths[r]) where source.tokens[r * s + i] < 0 || Int(source.tokens[r * s + i]) >= v {
                throw RecurrentError.invalidArgument(name: "source token at row \(r), step \(i)",
                                                     value: "\(source.tokens[r * s + i])", expected: "0..<\(v)")
            }
        }
    }

    /// Checks a training batch against the model.
    /// - Throws: `RecurrentError.shapeMismatch` or `.invalidArgument` naming the first problem.
    public func validate(_ batch: Seq2SeqBatch) throws {
        try validate(batch.source)
        let (b, t, v) = (batch.batch, batch.targetSteps, targetVocabulary)
        try require(t >= 1, .invalidArgument(name: "target steps", value: "\(t)", expected: "at least 1"))
        try require(batch.targetInput.count == b * t, .shapeMismatch(
            operation: "Seq2SeqModel target input", expected: "(B, T) = (\(b), \(t))", found: "\(batch.targetInput.count) ids"))
        try require(batch.targets.count == b * t, .shapeMismatch(
            operation: "Seq2SeqModel targets", expected: "(B, T) = (\(b), \(t))", found: "\(batch.targets.count) ids"))
        for (i, id) in batch.targetInput.enumerated() where Int(id) >= v {
            throw RecurrentError.invalidArgument(name: "target input id at position \(i)", value: "\(id)",
                                                 expected: "0..<\(v), or negative for padding")
        }
        for (i, id) in batch.targets.enumerated() where Int(id) >= v {
            throw RecurrentError.invalidArgument(name: "target id at position \(i)", value: "\(id)",
                                                 expected: "0..<\(v), or negative to ignore")
        }
    }

    // MARK: Training

    /// Teacher-forced forward pass: the logits head(h̃_bt) (B·T, V) of every target step, with
    /// h̃ the attention's output (or the decoder's output without attention). Keeps in
    /// `workspace` what `loss` and `backward` need.
    /// - Parameters:
    ///   - training: applies dropout (between stacked layers and on the head's input), drawing
    ///     masks from `rng`.
    /// - Returns: the logits, (B·T, V) row-major, valid until the workspace's next forward.
    /// - Throws: `RecurrentError` for a batch that does not fit the model (see `validate`).
    @discardableResult
    public func forward(_ batch: Seq2SeqBatch, training: Bool = false, rng: inout SeededGenerator,
                        workspace ws: Seq2SeqWorkspace, arena: ParameterArena) throws -> UnsafeBufferPointer<Float> {
        try validate(batch)
        let (b, t, v) = (batch.batch, batch.targetSteps, targetVocabulary)
        let (e, hd) = (configuration.embeddingSize, configuration.decoderHiddenSize)
        ws.shape = (b, batch.source.steps, t)
        ws.vocabulary = v
        encode(batch.source, training: training, rng: &rng, workspace: ws, arena: arena)

        let embedded = ws.buffers(.targetEmbedded, b * t * e)
        embedTargets(batch.targetInput, rows: b * t, output: embedded, arena: arena)
        let decoded = ws.buffers(.decoderOutput, b * t * hd)
        decoder.forward(input: embedded, batch: b, steps: t, initialState: ws.buffers(.initialState, 0), output: decoded,
                        finalState: nil, training: training, rng: &rng, workspace: ws.decoder, arena: arena)
        var top = decoded
        if let attention {
            top = ws.buffers(.attended, b * t * hd)
            attention.forward(decoder: decoded, batch: b, steps: t, encoder: ws.buffers(.encoderOutput, 0),
                              sourceSteps: batch.source.steps, sourceLengths: batch.source.lengths, output: top,
                              workspace: ws.attention, arena: arena)
        }
        ws.dropoutActive = training && configuration.dropout > 0
        if ws.dropoutActive {
            // Inverted dropout on the head's input: keep with 1 − p, scale by 1/(1 − p).
            let p = configuration.dropout, scale = 1 / (1 - p)
            let mask = ws.buffers(.dropoutMask, b * t * hd), dropped = ws.buffers(.headInput, b * t * hd)
            rng.dropoutMask(count: b * t * hd, rate: p, scale: scale, input: top, mask: mask, output: dropped)
            top = dropped
        }
        let logits = ws.buffers(.logits, b * t * v)
        head.forward(top, rows: b * t, output: logits, arena: arena)
        ws.hasForward = true
        ws.hasLoss = false
        return UnsafeBufferPointer(start: logits, count: b * t * v)
    }

    /// The mean cross-entropy of the last `forward`'s logits over the counted targets (those ≥ 0),
    ///
    ///     L = −(1/N) Σ_{b,t: y_bt ≥ 0} log softmax(head(h̃_bt))[y_bt],
    ///
    /// keeping ∂L/∂logits in `workspace` for `backward` and N in `workspace.tokenCount`.
    /// - Returns: L (0 when no target is counted).
    @discardableResult
    public func loss(_ batch: Seq2SeqBatch, workspace ws: Seq2SeqWorkspace) -> Float {
        let (b, t, v) = (batch.batch, batch.targetSteps, targetVocabulary)
        precondition(ws.hasForward && ws.shape.b == b && ws.shape.t == t, "Seq2SeqModel.loss before forward")
        let (loss, count) = Loss.softmaxCrossEntropy(logits: ws.buffers(.logits, b * t * v), rows: b * t, classes: v,
                                                     targets: batch.targets, gradient: ws.buffers(.logitsGradient, b * t * v))
        ws.tokenCount = count
        ws.hasLoss = true
        return loss
    }

    /// Backward of `forward`, same argument order, after `forward` with the same workspace:
    /// accumulates (+=) ∂L/∂θ of every parameter into the arena, visiting the layers in exact
    /// reverse order (head, attention, decoder, target embedding, bridge, encoder, source
    /// embedding or projection).
    /// - Throws: `RecurrentError.shapeMismatch` when the workspace holds another batch's forward.
    public func backward(_ batch: Seq2SeqBatch, workspace ws: Seq2SeqWorkspace, arena: ParameterArena) throws {
        let (b, s, t, v) = (batch.batch, batch.source.steps, batch.targetSteps, targetVocabulary)
        try require(ws.hasForward && ws.hasLoss && ws.shape == (b, s, t) && ws.vocabulary == v, .shapeMismatch(
            operation: "Seq2SeqModel.backward (call it after forward and loss on the same batch and workspace)",
            expected: "(B, S, T) = (\(b), \(s), \(t))", found: ws.hasForward ? "\(ws.shape)" : "no forward"))
        let (e, hd) = (configuration.embeddingSize, configuration.decoderHiddenSize)
        let rows = b * t
        let decoded = ws.buffers(.decoderOutput, rows * hd)
        let top = attention == nil ? decoded : ws.buffers(.attended, rows * hd)
        let headInput = ws.dropoutActive ? ws.buffers(.headInput, rows * hd) : top

        let dTop = ws.buffers(.headInputGradient, rows * hd)
        dTop.update(repeating: 0, count: rows * hd)
        head.backward(headInput, rows: rows, outputGradient: ws.buffers(.logitsGradient, rows * v), inputGradient: dTop,
                      arena: arena)
        if ws.dropoutActive {
            let mask = ws.buffers(.dropoutMask, rows * hd)
            for i in 0..<(rows * hd) { dTop[i] *= mask[i] }
        }
        var dDecoded = dTop
        let dEncoded = ws.buffers(.encoderOutputGradient, b * s * hd)
        dEncoded.update(repeating: 0, count: b * s * hd)
        if let attention {
            dDecoded = ws.buffers(.decoderOutputGradient, rows * hd)
            dDecoded.update(repeating: 0, count: rows * hd)
            attention.backward(decoder: decoded, batch: b, steps: t, encoder: ws.buffers(.encoderOutput, 0),
                               sourceSteps: s, sourceLengths: batch.source.lengths, outputGradient: dTop,
                               decoderGradient: dDecoded, encoderGradient: dEncoded, workspace: ws.attention, arena: arena)
        }

        let stateCount = decoder.stateCount(batch: b)
        let dInitial = ws.buffers(.initialStateGradient, stateCount)
        dInitial.update(repeating: 0, count: stateCount)
        let dEmbedded = ws.buffers(.targetEmbeddedGradient, rows * e)
        dEmbedded.update(repeating: 0, count: rows * e)
        decoder.backward(input: ws.buffers(.targetEmbedded, 0), batch: b, steps: t, outputGradient: dDecoded,
                         finalStateGradient: nil, inputGradient: dEmbedded, initialStateGradient: dInitial,
                         workspace: ws.decoder, arena: arena)
        batch.targetInput.withUnsafeBufferPointer { ids in
            for i in 0..<rows where ids[i] >= 0 {
                targetEmbedding.backward(ids.baseAddress! + i, rows: 1, outputGradient: dEmbedded + i * e, arena: arena)
            }
        }

        if let projection {
            // state_0[l, b] = tanh(P[b, l·S_dec ..< (l+1)·S_dec]): ∂P = ∂state_0 ⊙ (1 − state_0²).
            let (l, sd) = (decoder.layers, decoder.stateSize)
            let initial = ws.buffers(.initialState, stateCount)
            let dProjected = ws.buffers(.projectedGradient, stateCount)
            for layer in 0..<l {
                for r in 0..<b {
                    let src = (layer * b + r) * sd, dst = (r * l + layer) * sd
                    for j in 0..<sd { dProjected[dst + j] = dInitial[src + j] * (1 - initial[src + j] * initial[src + j]) }
                }
            }
            projection.backward(batch.source.features, rows: b, outputGradient: dProjected, inputGradient: nil,
                                arena: arena)
            return
        }
        let encoder = encoder!, embedding = sourceEmbedding!
        let dFinal = ws.buffers(.encoderFinalGradient, encoder.stateCount(batch: b))
        dFinal.update(repeating: 0, count: encoder.stateCount(batch: b))
        bridgeBackward(dInitial, batch: b, into: dFinal)
        let dSource = ws.buffers(.sourceEmbeddedGradient, b * s * e)
        dSource.update(repeating: 0, count: b * s * e)
        encoder.backward(input: ws.buffers(.sourceEmbedded, 0), batch: b, steps: s, lengths: batch.source.lengths,
                         outputGradient: dEncoded, finalStateGradient: dFinal, inputGradient: dSource,
                         initialStateGradient: nil, workspace: ws.encoder, arena: arena)
        batch.source.tokens.withUnsafeBufferPointer { ids in
            for r in 0..<b {
                embedding.backward(ids.baseAddress! + r * s, rows: Int(batch.source.lengths[r]),
                                   outputGradient: dSource + r * s * e, arena: arena)
            }
        }
    }

    /// The source side: leaves in `ws` the encoder outputs (B, S, Hd) (token sources) and the
    /// decoder's initial state (L, B, S_dec). Padding steps embed to zeros and are never read.
    func encode(_ source: Seq2SeqSource, training: Bool, rng: inout SeededGenerator, workspace ws: Seq2SeqWorkspace,
                arena: ParameterArena) {
        let b = source.batch
        let initial = ws.buffers(.initialState, decoder.stateCount(batch: b))
        if let projection {
            let (l, sd) = (decoder.layers, decoder.stateSize)
            let projected = ws.buffers(.projected, b * l * sd)
            projection.forward(source.features, rows: b, output: projected, arena: arena)
            // (B, L·S_dec) → tanh → the stack's (L, B, S_dec) layout.
            for layer in 0..<l {
                for r in 0..<b {
                    let src = (r * l + layer) * sd, dst = (layer * b + r) * sd
                    for j in 0..<sd { initial[dst + j] = Foundation.tanh(projected[src + j]) }
                }
            }
            return
        }
        let encoder = encoder!, embedding = sourceEmbedding!
        let (s, e) = (source.steps, embedding.embeddingSize)
        let embedded = ws.buffers(.sourceEmbedded, b * s * e)
        source.tokens.withUnsafeBufferPointer { ids in
            for r in 0..<b {
                let n = Int(source.lengths[r])
                embedding.forward(ids.baseAddress! + r * s, rows: n, output: embedded + r * s * e, arena: arena)
                (embedded + (r * s + n) * e).update(repeating: 0, count: (s - n) * e)
            }
        }
        let final = ws.buffers(.encoderFinal, encoder.stateCount(batch: b))
        encoder.forward(input: embedded, batch: b, steps: s, lengths: source.lengths, initialState: nil,
                        output: ws.buffers(.encoderOutput, b * s * encoder.outputSize), finalState: final,
                        training: training, rng: &rng, workspace: ws.encoder, arena: arena)
        bridgeForward(final, batch: b, into: initial)
    }

    /// y[r] = W[ids[r]] for ids ≥ 0, zeros for padding (negative ids).
    private func embedTargets(_ ids: [Int32], rows: Int, output: UnsafeMutablePointer<Float>, arena: ParameterArena) {
        let e = targetEmbedding.embeddingSize
        ids.withUnsafeBufferPointer { ids in
            for i in 0..<rows {
                if ids[i] >= 0 {
                    targetEmbedding.forward(ids.baseAddress! + i, rows: 1, output: output + i * e, arena: arena)
                } else {
                    (output + i * e).update(repeating: 0, count: e)
                }
            }
        }
    }

    /// Encoder final state (L·dirs, B, S_enc) → decoder initial state (L, B, S_dec): part p
    /// (h, then c for LSTM) of direction d goes to columns p·dirs·H + d·H ..< + H.
    private func bridgeForward(_ final: UnsafePointer<Float>, batch b: Int, into initial: UnsafeMutablePointer<Float>) {
        let encoder = encoder!
        let (h, dirs, se, sd) = (encoder.hiddenSize, encoder.directions, encoder.stateSize, decoder.stateSize)
        let parts = se / h
        for l in 0..<decoder.layers {
            for r in 0..<b {
                let dst = initial + (l * b + r) * sd
                for d in 0..<dirs {
                    let src = final + ((l * dirs + d) * b + r) * se
                    for p in 0..<parts { (dst + p * dirs * h + d * h).update(from: src + p * h, count: h) }
                }
            }
        }
    }

    /// Backward of `bridgeForward`: ∂final += the matching columns of ∂initial.
    private func bridgeBackward(_ dInitial: UnsafePointer<Float>, batch b: Int, into dFinal: UnsafeMutablePointer<Float>) {
        let encoder = encoder!
        let (h, dirs, se, sd) = (encoder.hiddenSize, encoder.directions, encoder.stateSize, decoder.stateSize)
        let parts = se / h
        for l in 0..<decoder.layers {
            for r in 0..<b {
                let src = dInitial + (l * b + r) * sd
                for d in 0..<dirs {
                    let dst = dFinal + ((l * dirs + d) * b + r) * se
                    for p in 0..<parts {
                        for j in 0..<h { dst[p * h + j] += src[p * dirs * h + d * h + j] }
                    }
                }
            }
        }
    }

    // MARK: Decoding

    /// Runs the source side once and returns the state from which `decodeStep` generates.
    /// - Throws: `RecurrentError` for a source that does not fit the model.
    public func beginDecoding(_ source: Seq2SeqSource, arena: ParameterArena) throws -> Seq2SeqDecodingState {
        try validate(source)
        let ws = Seq2SeqWorkspace()
        var rng = SeededGenerator(seed: 0)   // unused: no dropout outside training
        encode(source, training: false, rng: &rng, workspace: ws, arena: arena)
        let b = source.batch, s = source.steps, hd = configuration.decoderHiddenSize
        let encoded = attention == nil ? [] : Array(UnsafeBufferPointer(start: ws.buffers(.encoderOutput, 0), count: b * s * hd))
        var state = RecurrentState(stack: decoder, batch: b)
        state.values.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: ws.buffers(.initialState, 0), count: $0.count) }
        return makeState(recurrent: state, encoderOutput: encoded, lengths: source.lengths, sourceSteps: s, arena: arena)
    }

    private func makeState(recurrent: RecurrentState, encoderOutput: [Float], lengths: [Int32], sourceSteps: Int,
                           arena: ParameterArena) -> Seq2SeqDecodingState {
        let st = Seq2SeqDecodingState(recurrent: recurrent, encoderOutput: encoderOutput, lengths: lengths,
                                      sourceSteps: sourceSteps, embeddingSize: configuration.embeddingSize,
                                      hiddenSize: configuration.decoderHiddenSize, attends: attention != nil)
        attention?.prepare(encoder: st.encoderOutput, batch: st.batch, sourceSteps: sourceSteps,
                           workspace: st.attention, arena: arena)
        return st
    }

    /// `count` copies of row `row` of a decoding state: the beams of one example.
    func replicate(_ st: Seq2SeqDecodingState, row: Int, count k: Int, arena: ParameterArena) -> Seq2SeqDecodingState {
        let (b, s, hd, ss) = (st.batch, st.sourceSteps, configuration.decoderHiddenSize, st.recurrent.stateSize)
        var recurrent = RecurrentState(stack: decoder, batch: k)
        var encoded = [Float]()
        if attention != nil {
            encoded.reserveCapacity(k * s * hd)
            for _ in 0..<k { encoded += st.encoderOutput[(row * s * hd)..<((row + 1) * s * hd)] }
        }
        for l in 0..<decoder.layers {
            for j in 0..<k {
                for i in 0..<ss { recurrent.values[(l * k + j) * ss + i] = st.recurrent.values[(l * b + row) * ss + i] }
            }
        }
        let lengths = st.lengths.isEmpty ? [] : [Int32](repeating: st.lengths[row], count: k)
        return makeState(recurrent: recurrent, encoderOutput: encoded, lengths: lengths, sourceSteps: s, arena: arena)
    }

    /// One decoder step for every row of `state`: feeds `tokens` (B), advances the decoder's
    /// recurrent state, attends (one-step form) and writes the logits (B, Vt). Fed the
    /// teacher-forced inputs step by step, it reproduces `forward`'s logits.
    /// - Throws: `RecurrentError.shapeMismatch` or `.invalidArgument` for bad tokens or sizes.
    public func decodeStep(tokens: [Int32], state: Seq2SeqDecodingState, logits: inout [Float],
                           arena: ParameterArena) throws {
        try require(tokens.count == state.batch, .shapeMismatch(operation: "Seq2SeqModel.decodeStep tokens",
                                                                expected: "(B) = \(state.batch)", found: "\(tokens.count)"))
        try tokens.withUnsafeBufferPointer { try targetEmbedding.validate($0) }
        try require(logits.count == state.batch * targetVocabulary, .shapeMismatch(
            operation: "Seq2SeqModel.decodeStep logits", expected: "(B, Vt) = (\(state.batch), \(targetVocabulary))",
            found: "\(logits.count) scalars"))
        try step(tokens: tokens, state: state, logits: &logits, arena: arena)
    }

    /// `decodeStep` without the checks.
    private func step(tokens: UnsafePointer<Int32>, state st: Seq2SeqDecodingState, logits: UnsafeMutablePointer<Float>,
                      arena: ParameterArena) throws {
        let n = st.batch
        targetEmbedding.forward(tokens, rows: n, output: &st.embedded, arena: arena)
        try decoder.step(input: st.embedded, state: &st.recurrent, output: &st.decoded, workspace: st.stepWorkspace,
                         arena: arena)
        if let attention {
            attention.step(decoder: st.decoded, batch: n, encoder: st.encoderOutput, sourceSteps: st.sourceSteps,
                           sourceLengths: st.lengths, output: &st.attended, weights: &st.attentionWeights,
                           workspace: st.attention, arena: arena)
            head.forward(st.attended, rows: n, output: logits, arena: arena)
        } else {
            head.forward(st.decoded, rows: n, output: logits, arena: arena)
        }
    }

    private func checkDecoding(bos: Int32, eos: Int32, maxLength: Int) throws {
        let v = targetVocabulary
        try require(bos >= 0 && Int(bos) < v, .invalidArgument(name: "BOS id", value: "\(bos)", expected: "0..<\(v)"))
        try require(eos >= 0 && Int(eos) < v, .invalidArgument(name: "EOS id", value: "\(eos)", expected: "0..<\(v)"))
        try require(maxLength >= 1, .invalidArgument(name: "maximum length", value: "\(maxLength)", expected: "at least 1"))
    }

    /// log Σ_j exp(z_j), with the maximum subtracted first.
    @inline(__always)
    static func logSumExp(_ z: UnsafePointer<Float>, count: Int) -> Float {
        var m = -Float.infinity
        for j in 0..<count { m = max(m, z[j]) }
        var sum: Float = 0
        for j in 0..<count { sum += Foundation.exp(z[j] - m) }
        return m + Foundation.log(sum)
    }

    /// Greedy decoding of a whole batch at once: from BOS, each row takes its most likely
    /// token (the lowest id on ties) until EOS or `maxLength` steps.
    /// - Parameter onStep: called for every token a row takes (EOS included), in order: the row,
    ///   the token, its log-probability, and with attention the row's weights over the S source
    ///   steps of this step (nil without attention) — what `rnn explain` shows.
    /// - Returns: one hypothesis per source row; tokens exclude BOS and EOS, the log-probability
    ///   includes EOS's when reached.
    /// - Throws: `RecurrentError` for a bad source or bad BOS, EOS or maximum length.
    public func greedy(_ source: Seq2SeqSource, bos: Int32, eos: Int32, maxLength: Int, arena: ParameterArena,
                       onStep: ((_ row: Int, _ token: Int32, _ logProbability: Float,
                                 _ attention: ArraySlice<Float>?) -> Void)? = nil) throws -> [Seq2SeqHypothesis] {
        try checkDecoding(bos: bos, eos: eos, maxLength: maxLength)
        let st = try beginDecoding(source, arena: arena)
        let (b, v) = (st.batch, targetVocabulary)
        var tokens = [Int32](repeating: bos, count: b)
        var logits = [Float](repeating: 0, count: b * v)
        var results = (0..<b).map { _ in Seq2SeqHypothesis(tokens: [], logProbability: 0, reachedEOS: false) }
        for r in 0..<b { results[r].tokens.reserveCapacity(maxLength) }
        var active = b
        var steps = 0
        while active > 0 && steps < maxLength {
            try step(tokens: tokens, state: st, logits: &logits, arena: arena)
            steps += 1
            for r in 0..<b where !results[r].reachedEOS {
                let (best, logp) = logits.withUnsafeBufferPointer { z -> (Int32, Float) in
                    let row = z.baseAddress! + r * v
                    var best = 0
                    for j in 1..<v where row[j] > row[best] { best = j }
                    return (Int32(best), row[best] - Self.logSumExp(row, count: v))
                }
                results[r].logProbability += logp
                if let onStep {
                    let s = st.sourceSteps
                    onStep(r, best, logp, st.attentionWeights.isEmpty ? nil : st.attentionWeights[(r * s)..<((r + 1) * s)])
                }
                if best == eos {
                    results[r].reachedEOS = true
                    active -= 1
                } else {
                    results[r].tokens.append(best)
                }
                tokens[r] = best
            }
        }
        return results
    }

    /// Beam search, one example at a time with `beamWidth` (K) beams each, scored by the
    /// sequence log-probability without length normalisation.
    ///
    /// Each step expands every live beam by its 2K most likely tokens, ranks all candidates
    /// by score (ties: earlier beam, then more likely token), moves candidates ending in EOS to
    /// the finished list and keeps the best K others alive. It stops when no live beam can beat
    /// the best finished one (scores only fall), or after `maxLength` steps, when live beams
    /// count as unfinished hypotheses. With K = 1 it returns exactly `greedy`'s result.
    /// - Returns: the most likely hypothesis per source row.
    /// - Throws: `RecurrentError` for a bad source, beam width, BOS, EOS or maximum length.
    public func beamSearch(_ source: Seq2SeqSource, beamWidth k: Int, bos: Int32, eos: Int32, maxLength: Int,
                           arena: ParameterArena) throws -> [Seq2SeqHypothesis] {
        try checkDecoding(bos: bos, eos: eos, maxLength: maxLength)
        try require(k >= 1, .invalidArgument(name: "beam width", value: "\(k)", expected: "at least 1"))
        let all = try beginDecoding(source, arena: arena)
        let v = targetVocabulary
        let m = min(2 * k, v)   // candidates per beam
        var results: [Seq2SeqHypothesis] = []
        // Per-search buffers, reused by every example and step.
        var logits = [Float](repeating: 0, count: k * v)
        var tokens = [Int32](repeating: bos, count: k), scores = [Float](repeating: 0, count: k)
        var nextTokens = tokens, nextScores = scores, nextParents = [Int](repeating: 0, count: k)
        var history = [(parent: Int32, token: Int32)](repeating: (0, 0), count: maxLength * k)
        var topIds = [Int](repeating: 0, count: m), topValues = [Float](repeating: 0, count: m)
        typealias Candidate = (score: Float, beam: Int, rank: Int, token: Int32)
        var candidates: [Candidate] = []
        candidates.reserveCapacity(k * m)
        var previousState = [Float](repeating: 0, count: decoder.stateCount(batch: k))

        /// The tokens of live slot `slot` after step `step`, oldest first.
        func path(step: Int, slot: Int) -> [Int32] {
            var out = [Int32](repeating: 0, count: step + 1)
            var j = slot
            for i in stride(from: step, through: 0, by: -1) {
                out[i] = history[i * k + j].token
                j = Int(history[i * k + j].parent)
            }
            return out
        }

        for row in 0..<all.batch {
            let st = replicate(all, row: row, count: k, arena: arena)
            var alive = 1
            tokens.withUnsafeMutableBufferPointer { $0.update(repeating: bos) }
            scores[0] = 0
            var finished: [Seq2SeqHypothesis] = []
            var bestFinished = -Float.infinity
            var steps = 0
            var stoppedEarly = false
            while steps < maxLength {
                try step(tokens: tokens, state: st, logits: &logits, arena: arena)
                candidates.removeAll(keepingCapacity: true)
                logits.withUnsafeBufferPointer { z in
                    for j in 0..<alive {
                        let row = z.baseAddress! + j * v
                        let lse = Self.logSumExp(row, count: v)
                        // The m largest logits, larger first, the lower id first on ties.
                        var filled = 0
                        for id in 0..<v where filled < m || row[id] > topValues[m - 1] {
                            var i = min(filled, m - 1)
                            while i > 0 && row[id] > topValues[i - 1] {
                                topValues[i] = topValues[i - 1]
                                topIds[i] = topIds[i - 1]
                                i -= 1
                            }
                            topValues[i] = row[id]
                            topIds[i] = id
                            filled = min(filled + 1, m)
                        }
                        for r in 0..<m {
                            candidates.append((scores[j] + (topValues[r] - lse), j, r, Int32(topIds[r])))
                        }
                    }
                }
                // Insertion sort of the K·2K candidates: higher score first, then earlier beam, then
                // more likely token (no scratch memory, unlike `sort`).
                for i in 1..<candidates.count {
                    let c = candidates[i]
                    var j = i
                    while j > 0, c.score > candidates[j - 1].score || (c.score == candidates[j - 1].score
                            && (c.beam, c.rank) < (candidates[j - 1].beam, candidates[j - 1].rank)) {
                        candidates[j] = candidates[j - 1]
                        j -= 1
                    }
                    candidates[j] = c
                }
                var next = 0
                for c in candidates {
                    if c.token == eos {
                        let prefix = steps == 0 ? [] : path(step: steps - 1, slot: c.beam)
                        finished.append(Seq2SeqHypothesis(tokens: prefix, logProbability: c.score, reachedEOS: true))
                        bestFinished = max(bestFinished, c.score)
                        continue
                    }
                    nextParents[next] = c.beam
                    nextTokens[next] = c.token
                    nextScores[next] = c.score
                    history[steps * k + next] = (Int32(c.beam), c.token)
                    next += 1
                    if next == k { break }
                }
                steps += 1
                alive = next
                if alive == 0 { stoppedEarly = true; break }
                // Reorder the decoder state: live slot i continues beam nextParents[i].
                let ss = st.recurrent.stateSize
                previousState.withUnsafeMutableBufferPointer { dst in
                    st.recurrent.values.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                }
                for l in 0..<decoder.layers {
                    for i in 0..<alive {
                        let dst = (l * k + i) * ss, src = (l * k + nextParents[i]) * ss
                        for x in 0..<ss { st.recurrent.values[dst + x] = previousState[src + x] }
                    }
                }
                for i in 0..<alive {
                    tokens[i] = nextTokens[i]
                    scores[i] = nextScores[i]
                }
                // Scores only fall, so no live beam can overtake a finished one that is already ahead.
                if bestFinished >= scores[0] { stoppedEarly = true; break }
            }
            var hypotheses = finished
            if !stoppedEarly {
                for i in 0..<alive {
                    hypotheses.append(Seq2SeqHypothesis(tokens: path(step: steps - 1, slot: i), logProbability: scores[i],
                                                        reachedEOS: false))
                }
            }
            var best = hypotheses[0]
            for h in hypotheses.dropFirst() where h.logProbability > best.logProbability { best = h }
            results.append(best)
        }
        return results
    }
}
