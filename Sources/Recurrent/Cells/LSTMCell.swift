import CRecurrentKernels

/// Long short-term memory (Hochreiter & Schmidhuber 1997) with PyTorch's semantics:
///
///     i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o),   a = W_ih·x + b_ih + W_hh·h_{t−1} + b_hh
///     c_t = f ⊙ c_{t−1} + i ⊙ g
///     h_t = o ⊙ tanh(c_t)
///
/// Parameters, PyTorch's names and layout, gate order i, f, g, o (G = 4):
/// `weight_ih_l{k}` (4H, D), `weight_hh_l{k}` (4H, H), `bias_ih_l{k}` (4H), `bias_hh_l{k}` (4H).
/// State per row: [h | c] (S = 2H); output h.
public struct LSTMCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let inputBias: Parameter?
    public let recurrentWeight: Parameter
    public let recurrentBias: Parameter

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { 2 * hiddenSize }
    public var projectionSize: Int { 4 * hiddenSize }
    /// i, f, g, o and tanh(c_t).
    public var cacheSize: Int { 5 * hiddenSize }
    public var scratchSize: Int { 0 }

    /// Registers the four parameters under `prefix` with the names PyTorch gives layer `layer`
    /// (`suffix` "_reverse" for the backward direction of a bidirectional layer).
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let p = GateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 4, forgetGate: 1, inputSize: inputSize,
                               hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputBias, recurrentBias) = (p.inputWeight, p.recurrentWeight, p.inputBias, p.recurrentBias)
    }

    /// W_hh added onto the projection: a = p + h_{t−1}·W_hhᵀ; b_hh is added by the step.
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: recurrentBias, product: .added) }

    /// The element-wise step forward (see `RecurrentCell`): gates i, f, g, o from a = p + q + b_hh,
    /// then c and h.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // Gates, c_t, h_t and the cache in one fused pass (vectorised σ and tanh).
        rk_lstm_forward(batch, h, a, lda, arena.value(recurrentBias), previous + h, 2 * h,
                        state, 2 * h, state + h, 2 * h, output, ldy, cache, 5 * h)
    }

    /// The element-wise step backward (see `RecurrentCell`), the reverse of `forward`: ∂a from
    /// ∂h = ∂y + ∂h_t and ∂c_t; ∂c_{t−1} = ∂c·f replaces ∂c_t in place, and h_{t−1} reaches the
    /// loss only through W_hh, so its direct part is zero.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        rk_lstm_backward(batch, h, da, lda, dy, ldy, ds, 2 * h, ds + h, 2 * h, cache, 5 * h, previous + h, 2 * h)
        for r in 0..<batch { (ds + r * 2 * h).update(repeating: 0, count: h) }
    }
}

extension LSTMCell {
    /// `lstm`: PyTorch's nn.LSTM cell.
    public static let registration = CellRegistration(name: "lstm") { s, layout in
        LSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                 initialization: s.initialization, layout: &layout)
    }
}
