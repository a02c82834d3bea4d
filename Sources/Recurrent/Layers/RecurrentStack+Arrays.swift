/// Array forms of the stack's passes: they check every shape and allocate the results, for
/// callers who prefer safety to reusing buffers. The pointer forms are the fast path.
extension RecurrentStack {
    /// Throws unless `values` holds exactly `dims` (named by `letters`) scalars.
    static func checkShape(_ operation: String, _ values: [Float], _ letters: String, _ dims: [Int]) throws {
        let count = dims.reduce(1, *)
        try require(values.count == count, .shapeMismatch(
            operation: operation,
            expected: "\(letters) = (\(dims.map(String.init).joined(separator: ", "))) = \(count) scalars",
            found: "\(values.count) scalars"))
    }

    /// Runs the stack over x (B, T, D).
    /// - Returns: y (B, T, dirs·H) and the final state (L·dirs, B, S).
    /// - Throws: `RecurrentError.shapeMismatch` naming the expected and actual shapes;
    ///   `RecurrentError.invalidArgument` for a bad length.
    public func forward(_ x: [Float], batch: Int, steps: Int, lengths: [Int32]? = nil, initialState: [Float]? = nil,
                        training: Bool = false, rng: inout SeededGenerator, workspace: RecurrentStackWorkspace,
                        arena: ParameterArena) throws -> (output: [Float], finalState: [Float]) {
        try require(batch >= 1 && steps >= 1, .invalidArgument(name: "batch and steps", value: "\(batch), \(steps)",
                                                               expected: "at least 1 each"))
        try Self.checkShape("RecurrentStack.forward input", x, "(B, T, D)", [batch, steps, inputSize])
        if let initialState {
            try Self.checkShape("RecurrentStack.forward initial state", initialState, "(L·dirs, B, S)",
                                [layers * directions, batch, stateSize])
        }
        if let lengths { try Self.validate(lengths: lengths, batch: batch, steps: steps) }
        var y = [Float](repeating: 0, count: batch * steps * outputSize)
        var state = [Float](repeating: 0, count: stateCount(batch: batch))
        forward(input: x, batch: batch, steps: steps, lengths: lengths, initialState: initialState, output: &y,
                finalState: &state, training: training, rng: &rng, workspace: workspace, arena: arena)
        return (y, state)
    }

    /// Backward of the array `forward`, after it, with the same workspace. Parameter gradients
    /// accumulate into the arena.
    /// - Returns: ∂L/∂x (B, T, D) and ∂L/∂state_0 (L·dirs, B, S).
    public func backward(_ x: [Float], batch: Int, steps: Int, lengths: [Int32]? = nil, outputGradient: [Float],
                         finalStateGradient: [Float]? = nil, workspace: RecurrentStackWorkspace,
                         arena: ParameterArena) throws -> (inputGradient: [Float], initialStateGradient: [Float]) {
        try Self.checkShape("RecurrentStack.backward input", x, "(B, T, D)", [batch, steps, inputSize])
        try Self.checkShape("RecurrentStack.backward output gradient", outputGradient, "(B, T, dirs·H)",
                            [batch, steps, outputSize])
        if let finalStateGradient {
            try Self.checkShape("RecurrentStack.backward final state gradient", finalStateGradient, "(L·dirs, B, S)",
                                [layers * directions, batch, stateSize])
        }
        if let lengths { try Self.validate(lengths: lengths, batch: batch, steps: steps) }
        var dx = [Float](repeating: 0, count: x.count)
        var ds0 = [Float](repeating: 0, count: stateCount(batch: batch))
        backward(input: x, batch: batch, steps: steps, lengths: lengths, outputGradient: outputGradient,
                 finalStateGradient: finalStateGradient, inputGradient: &dx, initialStateGradient: &ds0,
                 workspace: workspace, arena: arena)
        return (dx, ds0)
    }

    /// One streaming step over x_t (B, D); `state` is replaced by the next one.
    /// - Returns: y_t (B, H).
    public func step(_ x: [Float], state: inout RecurrentState, workspace: StepWorkspace,
                     arena: ParameterArena) throws -> [Float] {
        try Self.checkShape("RecurrentStack.step input", x, "(B, D)", [state.batch, inputSize])
        var y = [Float](repeating: 0, count: state.batch * layerOutputSize)
        try step(input: x, state: &state, output: &y, workspace: workspace, arena: arena)
        return y
    }
}
