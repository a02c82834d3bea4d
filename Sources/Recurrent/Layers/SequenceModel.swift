/// The usual recurrent model: an input layer, a recurrent stack, and a linear head.
///
///     tokens (B, T) → Embedding(V, E) ─┐
///     or features (B, T, D) ───────────┴→ RecurrentStack → y (B, T, dirs·H) → Linear → (B, T, O) or (B, O)
///
/// `Readout.allSteps` applies the head at every step (many to many: language models,
/// tagging); `.lastStep` only to the last step's output (many to one: the adding problem).
public struct SequenceModel: Sendable {
    public enum Input: Sendable, Equatable {
        /// D numeric features per step.
        case features(Int)
        /// Token ids below `vocabulary`, embedded in `embedding` dimensions.
        case tokens(vocabulary: Int, embedding: Int)
    }

    public enum Readout: Sendable { case allSteps, lastStep }

    public let input: Input
    public let embedding: Embedding?
    public let stack: RecurrentStack
    public let head: Linear

    /// Registers `embedding.weight`, `rnn.*` and `head.*`, PyTorch's names for a module with
    /// submodules `embedding`, `rnn` and `head`.
    public init(input: Input, kind: CellKind, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false,
                dropout: Float = 0, outputs: Int, initialization: RecurrentInitialization = .pytorch,
                layout: inout ParameterLayout) throws {
        self.input = input
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
        stack = try RecurrentStack(kind: kind, inputSize: stackInput, hiddenSize: hiddenSize, layers: layers,
                                   bidirectional: bidirectional, dropout: dropout, initialization: initialization,
                                   layout: &layout)
        head = Linear("head", inputSize: stack.outputSize, outputSize: outputs, layout: &layout)
    }

    public var outputs: Int { head.outputSize }

    /// Forward over a batch of sequences.
    /// - Parameters:
    ///   - features: (B, T, D) for `.features` input.
    ///   - tokens: (B, T) ids for `.tokens` input, each below V.
    ///   - initialState, finalState: (L·dirs, B, S), as `RecurrentStack`.
    ///   - output: (B, T, O) for `.allSteps`, (B, O) for `.lastStep`.
    public func forward(features: UnsafePointer<Float>? = nil, tokens: UnsafePointer<Int32>? = nil,
                        batch b: Int, steps t: Int, readout: Readout = .allSteps,
                        initialState: UnsafePointer<Float>? = nil, output: UnsafeMutablePointer<Float>,
                        finalState: UnsafeMutablePointer<Float>? = nil, training: Bool = false,
                        rng: inout SeededGenerator, workspace ws: SequenceModelWorkspace, arena: ParameterArena) {
        let x = stackInput(features: features, tokens: tokens, batch: b, steps: t, workspace: ws, arena: arena)
        let o = stack.outputSize
        let y = ws.buffer(.stackOutput, b * t * o)
        stack.forward(input: x, batch: b, steps: t, initialState: initialState, output: y, finalState: finalState,
                      training: training, rng: &rng, workspace: ws.stack, arena: arena)
        switch readout {
        case .allSteps:
            head.forward(y, rows: b * t, output: output, arena: arena)
        case .lastStep:
            let last = ws.buffer(.lastStep, b * o)
            Elementwise.copy(y + (t - 1) * o, ldx: t * o, to: last, ldy: o, rows: b, cols: o)
            head.forward(last, rows: b, output: output, arena: arena)
        }
    }

    /// Backward of `forward`, same argument order; parameter gradients accumulate into the arena.
    /// - Parameters:
    ///   - outputGradient: ∂L/∂output, shaped as `output`.
    ///   - finalStateGradient, initialStateGradient: as `RecurrentStack.backward`.
    ///   - stateGradientNorms: when given (T), ‖∂L/∂h_t‖ of the first layer's forward direction.
    public func backward(features: UnsafePointer<Float>? = nil, tokens: UnsafePointer<Int32>? = nil,
                         batch b: Int, steps t: Int, readout: Readout = .allSteps,
                         outputGradient: UnsafePointer<Float>, finalStateGradient: UnsafePointer<Float>? = nil,
                         initialStateGradient: UnsafeMutablePointer<Float>? = nil,
                         stateGradientNorms: UnsafeMutablePointer<Float>? = nil,
                         workspace ws: SequenceModelWorkspace, arena: ParameterArena) {
        let o = stack.outputSize
        let y = ws.buffer(.stackOutput, b * t * o)
        let dy = ws.buffer(.stackOutputGradient, b * t * o)
        switch readout {
        case .allSteps:
            dy.update(repeating: 0, count: b * t * o)
            head.backward(y, rows: b * t, outputGradient: outputGradient, inputGradient: dy, arena: arena)
        case .lastStep:
            let last = ws.buffer(.lastStep, b * o), dLast = ws.buffer(.lastStepGradient, b * o)
            dLast.update(repeating: 0, count: b * o)
            head.backward(last, rows: b, outputGradient: outputGradient, inputGradient: dLast, arena: arena)
            dy.update(repeating: 0, count: b * t * o)
            Elementwise.copy(dLast, ldx: o, to: dy + (t - 1) * o, ldy: t * o, rows: b, cols: o)
        }
        let x = UnsafePointer(embedding == nil ? UnsafeMutablePointer(mutating: features!) : ws.buffer(.embedded, 0))
        let dx: UnsafeMutablePointer<Float>? = embedding == nil ? nil : ws.buffer(.embeddedGradient, b * t * stack.inputSize)
        dx?.update(repeating: 0, count: b * t * stack.inputSize)
        stack.backward(input: x, batch: b, steps: t, outputGradient: dy, finalStateGradient: finalStateGradient,
                       inputGradient: dx, initialStateGradient: initialStateGradient,
                       stateGradientNorms: stateGradientNorms, workspace: ws.stack, arena: arena)
        if let embedding, let tokens, let dx {
            embedding.backward(tokens, rows: b * t, outputGradient: dx, arena: arena)
        }
    }

    private func stackInput(features: UnsafePointer<Float>?, tokens: UnsafePointer<Int32>?, batch b: Int, steps t: Int,
                            workspace ws: SequenceModelWorkspace, arena: ParameterArena) -> UnsafePointer<Float> {
        if let embedding {
            precondition(tokens != nil, "a token model needs tokens")
            let e = ws.buffer(.embedded, b * t * embedding.embeddingSize)
            embedding.forward(tokens!, rows: b * t, output: e, arena: arena)
            return UnsafePointer(e)
        }
        precondition(features != nil, "a feature model needs features")
        return features!
    }
}

/// Buffers of a `SequenceModel`, grown on demand and reused across batches.
public final class SequenceModelWorkspace: @unchecked Sendable {
    enum Slot: Int, CaseIterable { case embedded, embeddedGradient, stackOutput, stackOutputGradient, lastStep, lastStepGradient }
    let stack = RecurrentStackWorkspace()
    private var buffers: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)]

    public init() {
        buffers = Slot.allCases.map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            p.initialize(to: 0)
            return (p, 1)
        }
    }

    deinit { buffers.forEach { $0.pointer.deallocate() } }

    /// The buffer of `slot` with room for at least `count` scalars (contents kept when no growth
    /// is needed, so backward can read what forward wrote).
    func buffer(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        if buffers[slot.rawValue].capacity < count {
            buffers[slot.rawValue].pointer.deallocate()
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            buffers[slot.rawValue] = (p, count)
        }
        return buffers[slot.rawValue].pointer
    }
}
