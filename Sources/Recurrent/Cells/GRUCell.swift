import CRecurrentKernels

/// Gated recurrent unit (Cho et al. 2014) with PyTorch's and cuDNN's semantics: the reset
/// gate multiplies the recurrent product, after it is computed.
///
///     r = σ(W_ir·x + b_ir + W_hr·h_{t−1} + b_hr)
///     z = σ(W_iz·x + b_iz + W_hz·h_{t−1} + b_hz)
///     n = tanh(W_in·x + b_in + r ⊙ (W_hn·h_{t−1} + b_hn))
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
///
/// Parameters, PyTorch's names and layout, gate order r, z, n (G = 3):
/// `weight_ih_l{k}` (3H, D), `weight_hh_l{k}` (3H, H), `bias_ih_l{k}` (3H), `bias_hh_l{k}` (3H).
/// State and output: h (S = H).
public struct GRUCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let inputBias: Parameter?
    public let recurrentWeight: Parameter
    public let recurrentBias: Parameter

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { 3 * hiddenSize }
    /// r, z, n and W_hn·h_{t−1} + b_hn.
    public var cacheSize: Int { 4 * hiddenSize }
    /// None: the unroller holds q = h_{t−1}·W_hhᵀ and ∂q.
    public var scratchSize: Int { 0 }

    /// A GRU cell whose tensors, in PyTorch's layout and names (`{prefix}.weight_ih_l{layer}{suffix}`
    /// and so on, gates r, z, n), are added to `layout`.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let p = GateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 3, inputSize: inputSize,
                               hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputBias, recurrentBias) = (p.inputWeight, p.recurrentWeight, p.inputBias, p.recurrentBias)
    }

    /// W_hh apart from the projection: the candidate gate reads r ⊙ (W_hn·h + b_hn).
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: recurrentBias, product: .apart) }

    /// The element-wise step forward (see `RecurrentCell`): gates r, z, n from p and q + b_hh, then h.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent q: UnsafePointer<Float>?, recurrentStride ldq: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // Gates, h_t and the cache in one fused pass (vectorised σ and tanh).
        rk_gru_forward(batch, h, a, lda, q!, ldq, arena.value(recurrentBias), previous, h, state, h,
                       output, ldy, cache, 4 * h)
    }

    /// Three gates a unit steps alone, q handed over apart (see `RecurrentCell.unitGates`).
    public var unitGates: Int? { 3 }

    /// The step of `units` on gathered blocks (see `RecurrentCell.forward(units:…)`): the same
    /// kernel as `forward`, with U for H, so each unit gets the bits `forward` gives it.
    public func forward(units: Range<Int>, gates a: UnsafeMutablePointer<Float>, recurrent q: UnsafePointer<Float>?,
                        bias: UnsafePointer<Float>?, previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, batch: Int) {
        let (u, j, h) = (units.count, units.lowerBound, hiddenSize)
        rk_gru_forward(batch, u, a, 3 * u, q!, 3 * u, bias!, previous + j, h, state + j, h, output + j, ldy, cache, 4 * u)
    }

    /// The element-wise step backward (see `RecurrentCell`): ∂p and ∂q (B, 3H); ∂h in the state
    /// gradient becomes its direct part z ⊙ ∂h in place.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient dq: UnsafeMutablePointer<Float>?, recurrentStride ldq: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        rk_gru_backward(batch, hiddenSize, da, lda, dq!, ldq, dy, ldy, ds, hiddenSize, cache, 4 * hiddenSize, previous,
                        hiddenSize)
    }

    /// r, z and n (H each), from the cache.
    public var gates: [CellGate] {
        CellGate.gru(hiddenSize: hiddenSize)
    }

    /// r, z, n as the step cached them.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        gates.update(from: cache, count: 3 * hiddenSize)
    }
}

extension GRUCell {
    /// `gru`: PyTorch's nn.GRU cell.
    public static let registration = CellRegistration(name: "gru") { s, layout in
        GRUCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                initialization: s.initialization, layout: &layout)
    }
}
