import CRecurrentKernels

/// minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): an LSTM whose gates read the input
/// only, normalised so the forget and input gates sum to one, with no output gate or cell state:
///
///     f = σ(W_f·x_t + b_f)   i = σ(W_i·x_t + b_i)   h̃ = g(W_h·x_t + b_h)
///     f' = f / (f + i)       i' = i / (f + i)        h_t = f' ⊙ h_{t−1} + i' ⊙ h̃
///
/// with g as minGRU's (`MinGRUCell`). The cell has no W_hh (its `recurrence` is nil).
///
/// Parameters: `weight_ih_l{k}` (3H, D) and `bias_ih_l{k}` (3H), blocks f, i, h (the forget
/// gate's bias starts at 1 with Glorot/orthogonal initialisation). State and output: h.
public struct MinLSTMCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let inputBias: Parameter?

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { 3 * hiddenSize }
    /// f, i and h̃.
    public var cacheSize: Int { 3 * hiddenSize }
    /// a and b forward, ∂a and ∂b backward.
    public var scratchSize: Int { 2 * hiddenSize }
    public var recurrence: Recurrence? { nil }

    /// Registers `{prefix}.weight_ih_l{layer}{suffix}` and `bias_ih`.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        (inputWeight, inputBias) = InputParameters.register(prefix: prefix, layer: layer, suffix: suffix, gates: 3,
                                                            forgetGate: 0, inputSize: inputSize, hiddenSize: hiddenSize,
                                                            initialization: initialization, layout: &layout)
    }

    /// The step: a and b from the kernel (the scan's own), then s_t = a ⊙ s_{t−1} + b (`LinearStateStep`).
    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        LinearStateStep.forward(hidden: hiddenSize, lstm: 1, projection: p, ldp: lda, previous: previous, state: state,
                                output: output, ldy: ldy, cache: cache, scratch: scratch, batch: batch)
    }

    /// The step's backward (`LinearStateStep`).
    public func backward(projectionGradient dp: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        LinearStateStep.backward(hidden: hiddenSize, lstm: 1, projectionGradient: dp, ldp: lda, previous: previous,
                                 outputGradient: dy, ldy: ldy, cache: cache, stateGradient: ds, scratch: scratch, batch: batch)
    }

    /// f and i (H each, before their normalisation f/(f + i), i/(f + i)) and the candidate
    /// g(W_h·x_t + b_h) (H), from the cache.
    public var gates: [CellGate] {
        [CellGate("f", .sigmoid, width: hiddenSize), CellGate("i", .sigmoid, width: hiddenSize),
         CellGate("candidate", .identity, width: hiddenSize)]
    }

    /// f, i and the candidate as the step cached them.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        gates.update(from: cache, count: 3 * hiddenSize)
    }
}

extension MinLSTMCell {
    /// h_t = f' ⊙ h_{t−1} + i' ⊙ h̃: a = f', b = i' ⊙ h̃.
    public var isLinearInState: Bool { true }

    /// a and b for R rows at once (the vectorised kernel; the cache as `forward` keeps it).
    public func scanCoefficients(projection p: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                                 b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>) {
        rk_min_coefficients(rows, hiddenSize, 1, p, projectionSize, a, b, hiddenSize, cache)
    }

    /// ∂p for R rows from ∂a and ∂b (the kernel's backward).
    public func scanCoefficientsBackward(aGradient da: UnsafePointer<Float>, bGradient db: UnsafePointer<Float>,
                                         cache: UnsafePointer<Float>, rows: Int, projectionGradient dp: UnsafeMutablePointer<Float>) {
        rk_min_coefficients_backward(rows, hiddenSize, 1, da, db, hiddenSize, cache, dp, projectionSize)
    }

    /// `minlstm`.
    public static let registration = CellRegistration(name: "minlstm") { s, layout in
        MinLSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                    initialization: s.initialization, layout: &layout)
    }
}
