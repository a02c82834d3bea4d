/// The usual recurrent model: an input layer, a recurrent stack, and a linear head.
///
///     tokens (B, T) → Embedding(V, E) ─┐
///     or features (B, T, D) ───────────┴→ RecurrentStack → y (B, T, dirs·H) → Linear → (B, T, O) or (B, O)
///
/// `Readout.allSteps` applies the head at every step (many to many: language models,
/// tagging); `.lastStep` only to the last step's output (many to one: the adding problem);
/// `.finalState` to the top layer's final h (both directions concatenated: the forward one
/// after each row's last valid step, the reverse one after step 0); `.mean` to the mean of the
/// outputs over each row's valid steps. With `lengths`, rows are variable-length sequences.
///
/// `dropout` acts between stacked layers (PyTorch's nn.LSTM(dropout:)); `outputDropout` on the
/// head's input (char-rnn's dropout before the softmax layer): the top layer's outputs for
/// `.allSteps`, the pooled vector otherwise. Both only in training.
public struct SequenceModel: Sendable {
    public enum Input: Sendable, Equatable {
        /// D numeric features per step.
        case features(Int)
        /// Token ids below `vocabulary`, embedded in `embedding` dimensions.
        case tokens(vocabulary: Int, embedding: Int)
    }

    public enum Readout: Sendable, Equatable { case allSteps, lastStep, finalState, mean }

    public let input: Input
    public let embedding: Embedding?
    public let stack: RecurrentStack
    public let head: Linear
    /// Dropout probability on the head's input, in training only.
    public let outputDropout: Float

    /// Registers `embedding.weight`, `rnn.*` and `head.*`, PyTorch's names for a module with
    /// submodules `embedding`, `rnn` and `head`.
    /// - Parameters:
    ///   - dropout: between stacked layers, as `RecurrentStack`.
    ///   - outputDropout: on the head's input (the top layer's outputs, or the pooled vector).
    ///   - weightDrop: DropConnect on the recurrent weights, as `RecurrentStack`.
    /// - Throws: `RecurrentError.invalidArgument` for sizes below 1 or a dropout outside [0, 1).
    public init(input: Input, kind: CellKind, hiddenSize: Int, projectedSize: Int? = nil, layers: Int = 1, bidirectional: Bool = false,
                dropout: Float = 0, outputDropout: Float = 0, weightDrop: Float = 0, outputs: Int,
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) throws {
        try require(outputDropout >= 0 && outputDropout < 1,
                    .invalidArgument(name: "output dropout", value: "\(outputDropout)", expected: "0 <= p < 1"))
        self.input = input
        self.outputDropout = outputDropout
        let stackInput: Int
        switch input {
        case let .features(d):
            try require(d >= 1, .invalidArgument(name: "input features", value: "\(d)", expected: "at least 1"))
            embedding = nil
            stackInput = d
        case let .tokens(v, e):
            try require(v >= 1, .invalidArgument(name: "vocabulary size", value: "\(v)", expected: "at least 1"))
            try require(e >= 1, .invalidArgument(name: "embedding size", value: "\(e)", expected: "at least 1"))
            embedding = Embedding("embedding", vocabularySize: v, embeddingSize: e, layout: &layout)
            stackInput = e
        }
        try require(outputs >= 1, .invalidArgument(name: "outputs", value: "\(outputs)", expected: "at least 1"))
        stack = try RecurrentStack(kind: kind, inputSize: stackInput, hiddenSize: hiddenSize, projectedSize: projectedSize,
                                   layers: layers,
                                   bidirectional: bidirectional, dropout: dropout, weightDrop: weightDrop,
                                   initialization: initialization,
                                   layout: &layout)
        head = Linear("head", inputSize: stack.outputSize, outputSize: outputs, layout: &layout)
    }

    public var outputs: Int { head.outputSize }

    /// Forward over a batch of sequences.
    /// - Parameters:
    ///   - features: (B, T, D) for `.features` input.
    ///   - tokens: (B, T) ids for `.tokens` input, each below V.
    ///   - initialState, finalState: (L·dirs, B, S), as `RecurrentStack`.
    ///   - output: (B, T, O) for `.allSteps`, (B, O) for the other readouts.
    ///   - training: applies dropout (between layers, and on the head's input), drawing masks
    ///     from `rng`: the stack's first, then the head input's.
    public func forward(features: UnsafePointer<Float>? = nil, tokens: UnsafePointer<Int32>? = nil,
                        batch b: Int, steps t: Int, lengths: UnsafePointer<Int32>? = nil, readout: Readout = .allSteps,
                        initialState: UnsafePointer<Float>? = nil, output: UnsafeMutablePointer<Float>,
                        finalState: UnsafeMutablePointer<Float>? = nil, training: Bool = false,
                        rng: inout SeededGenerator, workspace ws: SequenceModelWorkspace, arena: ParameterArena) {
        let o = stack.outputSize
        let y = ws.buffer(.stackOutput, b * t * o)
        let finals = finalState ?? (readout == .finalState ? ws.buffer(.finalState, stack.stateCount(batch: b)) : nil)
        if let embedding, !usesTable(batch: b, steps: t) {
            precondition(tokens != nil, "a token model needs tokens")
            // More symbols than tokens in the batch (a word vocabulary): embed the B·T tokens and
            // run the stack on them, B·T rows of input GEMM instead of V.
            let x = ws.buffer(.embedded, b * t * embedding.embeddingSize)
            embedding.forward(tokens!, rows: b * t, output: x, arena: arena)
            stack.forward(input: x, batch: b, steps: t, lengths: lengths, initialState: initialState, output: y,
                          finalState: finals, training: training, rng: &rng, workspace: ws.stack, arena: arena)
        } else if let embedding {
            precondition(tokens != nil, "a token model needs tokens")
            // The first layer's input projection of every symbol, once per batch: E·W_ihᵀ + b_ih
            // (V, P) per direction. Each step then looks its token's row up — the same bits as
            // embedding the tokens and multiplying, with V rows of GEMM instead of B·T.
            let input = tokenInput(tokens!, batch: b, workspace: ws)
            for d in 0..<stack.directions {
                stack.firstLayerProjections(arena.value(embedding.weight), rows: embedding.vocabularySize,
                                            output: UnsafeMutablePointer(mutating: input.tables[d]), direction: d, arena: arena)
            }
            stack.forward(input: input.tables[0], tokens: input, batch: b, steps: t, lengths: lengths, initialState: initialState,
                          output: y, finalState: finals, training: training, rng: &rng, workspace: ws.stack, arena: arena)
        } else {
            precondition(features != nil, "a feature model needs features")
            stack.forward(input: features!, batch: b, steps: t, lengths: lengths, initialState: initialState, output: y,
                          finalState: finals, training: training, rng: &rng, workspace: ws.stack, arena: arena)
        }
        ws.outputDropoutActive = training && outputDropout > 0
        let pooled = ws.buffer(.lastStep, b * o)
        switch readout {
        case .allSteps:
            head.forward(dropOutput(y, count: b * t * o, rng: &rng, workspace: ws), rows: b * t, output: output, arena: arena)
            return
        case .lastStep:
            Elementwise.copy(y + (t - 1) * o, ldx: t * o, to: pooled, ldy: o, rows: b, cols: o)
        case .finalState:
            // The top layer's h, direction by direction: rows [h | c] of width S in blocks (L·dirs, B, S).
            let (h, s, dirs) = (stack.layerOutputSize, stack.stateSize, stack.directions)
            for d in 0..<dirs {
                let block = finals! + ((stack.layers - 1) * dirs + d) * b * s
                Elementwise.copy(block, ldx: s, to: pooled + d * h, ldy: o, rows: b, cols: h)
            }
        case .mean:
            for r in 0..<b {
                let n = lengths.map { Int($0[r]) } ?? t
                let row = pooled + r * o
                row.update(repeating: 0, count: o)
                for step in 0..<n {
                    let yr = y + (r * t + step) * o
                    for j in 0..<o { row[j] += yr[j] }
                }
                let scale = 1 / Float(max(n, 1))
                for j in 0..<o { row[j] *= scale }
            }
        }
        head.forward(dropOutput(pooled, count: b * o, rng: &rng, workspace: ws), rows: b, output: output, arena: arena)
    }

    /// The head's input: `x` itself, or in training with `outputDropout` p > 0 its inverted
    /// dropout (keep with 1 − p, scale by 1/(1 − p)), the mask kept in the workspace for backward.
    /// Draws nothing from `rng` when dropout is off, so p = 0 leaves the random stream as it was.
    private func dropOutput(_ x: UnsafeMutablePointer<Float>, count n: Int, rng: inout SeededGenerator,
                            workspace ws: SequenceModelWorkspace) -> UnsafeMutablePointer<Float> {
        guard ws.outputDropoutActive else { return x }
        let p = outputDropout, scale = 1 / (1 - p)
        let mask = ws.buffer(.outputMask, n), dropped = ws.buffer(.headInput, n)
        rng.dropoutMask(count: n, rate: p, scale: scale, input: x, mask: mask, output: dropped)
        return dropped
    }

    /// Backward of `dropOutput`: the gradient of its input from the gradient of its output, in place.
    private func dropOutputBackward(_ dx: UnsafeMutablePointer<Float>, count n: Int, workspace ws: SequenceModelWorkspace) {
        guard ws.outputDropoutActive else { return }
        let mask = ws.buffer(.outputMask, n)
        for i in 0..<n { dx[i] *= mask[i] }
    }

    /// Backward of `forward`, same argument order; parameter gradients accumulate into the arena.
    /// - Parameters:
    ///   - outputGradient: ∂L/∂output, shaped as `output`.
    ///   - finalStateGradient, initialStateGradient: as `RecurrentStack.backward`.
    ///   - stateGradientNorms: when given (T), ‖∂L/∂h_t‖ of the first layer's forward direction.
    public func backward(features: UnsafePointer<Float>? = nil, tokens: UnsafePointer<Int32>? = nil,
                         batch b: Int, steps t: Int, lengths: UnsafePointer<Int32>? = nil, readout: Readout = .allSteps,
                         outputGradient: UnsafePointer<Float>, finalStateGradient: UnsafePointer<Float>? = nil,
                         initialStateGradient: UnsafeMutablePointer<Float>? = nil,
                         stateGradientNorms: UnsafeMutablePointer<Float>? = nil,
                         workspace ws: SequenceModelWorkspace, arena: ParameterArena) {
        let o = stack.outputSize
        let y = ws.buffer(.stackOutput, b * t * o)
        let dy = ws.buffer(.stackOutputGradient, b * t * o)
        dy.update(repeating: 0, count: b * t * o)
        var finalGradient = finalStateGradient
        if readout == .allSteps {
            let headInput = ws.outputDropoutActive ? ws.buffer(.headInput, b * t * o) : y
            head.backward(headInput, rows: b * t, outputGradient: outputGradient, inputGradient: dy, arena: arena)
            dropOutputBackward(dy, count: b * t * o, workspace: ws)
        } else {
            let pooled = ws.buffer(.lastStep, b * o), dPooled = ws.buffer(.lastStepGradient, b * o)
            dPooled.update(repeating: 0, count: b * o)
            let headInput = ws.outputDropoutActive ? ws.buffer(.headInput, b * o) : pooled
            head.backward(headInput, rows: b, outputGradient: outputGradient, inputGradient: dPooled, arena: arena)
            dropOutputBackward(dPooled, count: b * o, workspace: ws)
            switch readout {
            case .allSteps:
                break
            case .lastStep:
                Elementwise.copy(dPooled, ldx: o, to: dy + (t - 1) * o, ldy: t * o, rows: b, cols: o)
            case .finalState:
                let (h, s, dirs) = (stack.layerOutputSize, stack.stateSize, stack.directions)
                let dFinal = ws.buffer(.finalStateGradient, stack.stateCount(batch: b))
                if let finalStateGradient {
                    dFinal.update(from: finalStateGradient, count: stack.stateCount(batch: b))
                } else {
                    dFinal.update(repeating: 0, count: stack.stateCount(batch: b))
                }
                for d in 0..<dirs {
                    let block = dFinal + ((stack.layers - 1) * dirs + d) * b * s
                    for r in 0..<b { for j in 0..<h { block[r * s + j] += dPooled[r * o + d * h + j] } }
                }
                finalGradient = UnsafePointer(dFinal)
            case .mean:
                for r in 0..<b {
                    let n = lengths.map { Int($0[r]) } ?? t
                    let scale = 1 / Float(max(n, 1))
                    for step in 0..<n {
                        let dyr = dy + (r * t + step) * o
                        for j in 0..<o { dyr[j] = dPooled[r * o + j] * scale }
                    }
                }
            }
        }
        guard let embedding, let tokens else {
            stack.backward(input: features!, batch: b, steps: t, lengths: lengths, outputGradient: dy,
                           finalStateGradient: finalGradient, inputGradient: nil, initialStateGradient: initialStateGradient,
                           stateGradientNorms: stateGradientNorms, workspace: ws.stack, arena: arena)
            return
        }
        if !usesTable(batch: b, steps: t) {
            // The embedded tokens' path: ∂X (B·T, E) from the stack, then scattered into ∂E.
            let e = embedding.embeddingSize
            let x = ws.buffer(.embedded, b * t * e), dx = ws.buffer(.embeddedGradient, b * t * e)
            dx.update(repeating: 0, count: b * t * e)
            stack.backward(input: x, batch: b, steps: t, lengths: lengths, outputGradient: dy, finalStateGradient: finalGradient,
                           inputGradient: dx, initialStateGradient: initialStateGradient,
                           stateGradientNorms: stateGradientNorms, workspace: ws.stack, arena: arena)
            embedding.backward(tokens, rows: b * t, outputGradient: dx, arena: arena)
            return
        }
        let input = tokenInput(tokens, batch: b, workspace: ws)
        let (v, e, p) = (embedding.vocabularySize, embedding.embeddingSize, stack.cells[0].projectionSize)
        for g in input.tableGradients { g.update(repeating: 0, count: v * p) }
        stack.backward(input: input.tables[0], tokens: input, batch: b, steps: t, lengths: lengths, outputGradient: dy,
                       finalStateGradient: finalGradient, inputGradient: nil, initialStateGradient: initialStateGradient,
                       stateGradientNorms: stateGradientNorms, workspace: ws.stack, arena: arena)
        // From ∂T (V, P), the gradient of each symbol's projection: ∂W_ih (P, E) += ∂Tᵀ·E,
        // ∂b_ih += Σ_v ∂T, ∂E (V, E) += ∂T·W_ih.
        for d in 0..<stack.directions {
            let cell = stack.cells[d], dT = UnsafePointer(input.tableGradients[d])
            GEMM.multiply(transA: true, m: p, n: e, k: v, a: dT, lda: p, b: arena.value(embedding.weight), ldb: e,
                          beta: 1, c: arena.gradient(cell.inputWeight), ldc: e)
            if let bias = cell.inputBias { Elementwise.addColumnSums(dT, rows: v, cols: p, ld: p, into: arena.gradient(bias)) }
            GEMM.multiply(m: v, n: e, k: p, a: dT, lda: p, b: arena.value(cell.inputWeight), ldb: e,
                          beta: 1, c: arena.gradient(embedding.weight), ldc: e)
        }
    }

    /// Whether a token batch's first-layer input goes through the per-symbol table (V rows of
    /// GEMM, once) or through its B·T embedded tokens: whichever has fewer rows. Both give the
    /// same outputs; the parameter gradients sum in another order.
    func usesTable(batch b: Int, steps t: Int) -> Bool { embedding!.vocabularySize <= b * t }

    /// The token input of the first layer, its tables and their gradients in the workspace.
    private func tokenInput(_ tokens: UnsafePointer<Int32>, batch b: Int, workspace ws: SequenceModelWorkspace) -> TokenInput {
        let n = embedding!.vocabularySize * stack.cells[0].projectionSize
        let tables = ws.buffer(.tables, stack.directions * n), gradients = ws.buffer(.tableGradients, stack.directions * n)
        return TokenInput(ids: tokens, tables: (0..<stack.directions).map { UnsafePointer(tables + $0 * n) },
                          tableGradients: (0..<stack.directions).map { gradients + $0 * n })
    }
}

/// Buffers of a `SequenceModel`, grown on demand and reused across batches.
public final class SequenceModelWorkspace: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case tables, tableGradients, embedded, embeddedGradient, stackOutput, stackOutputGradient, lastStep, lastStepGradient
        case finalState, finalStateGradient, outputMask, headInput
    }
    let stack = RecurrentStackWorkspace()
    /// The last forward dropped the head's input (training with `outputDropout` > 0).
    var outputDropoutActive = false
    /// `buffer(slot, count)`: the slot's buffer with room for `count` scalars; its contents
    /// are kept when it need not grow, so backward reads what forward wrote.
    let buffer = GrowingBuffers<Slot>()

    /// An empty workspace; buffers grow to the largest batch they meet.
    public init() {}
}
