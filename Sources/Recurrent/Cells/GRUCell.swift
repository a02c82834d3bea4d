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
    /// The recurrent product q = h_{t−1}·W_hhᵀ + b_hh (3H) forward; ∂q (3H) and z ⊙ ∂h (H) backward.
    public var scratchSize: Int { 4 * hiddenSize }

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

    /// The element-wise step forward (see `RecurrentCell`): gates r, z, n from the projections.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch q: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        forward(projection: a, projectionStride: lda, previous: previous, state: state, output: output,
                outputStride: ldy, cache: cache, scratch: q, batch: batch, arena: arena,
                packedRecurrentWeight: nil)
    }

    /// `forward` with W_hh packed once per sequence by the layer (nil: W_hh itself).
    func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                 cache: UnsafeMutablePointer<Float>, scratch q: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena,
                 packedRecurrentWeight: UnsafePointer<Float>?) {
        let h = hiddenSize
        // q (B, 3H) = h_{t−1}·W_hhᵀ; kept apart from the input half because r gates only q_n.
        GEMM.multiplyByTransposedWeight(m: batch, n: 3 * h, k: h, a: previous, lda: h,
                                        weight: arena.value(recurrentWeight), packed: packedRecurrentWeight,
                                        beta: 0, c: q, ldc: 3 * h)
        // Gates, h_t and the cache in one fused pass (vectorised σ and tanh).
        rk_gru_forward(batch, h, a, lda, q, 3 * h, arena.value(recurrentBias), previous, h, state, h,
                       output, ldy, cache, 4 * h)
    }

    /// The element-wise step backward (see `RecurrentCell`), the reverse of `forward`.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // ∂a (B, 3H) and ∂q (B, 3H); ∂h in ds becomes its direct part z ⊙ ∂h in place.
        let dq = scratch
        rk_gru_backward(batch, h, da, lda, dq, 3 * h, dy, ldy, ds, h, cache, 4 * h, previous, h)
        let dqRead = UnsafePointer(dq)
        // ∂W_hh (3H, H) += ∂qᵀ·h_{t−1}; ∂b_hh += Σ ∂q; ∂h_{t−1} = z ⊙ ∂h + ∂q·W_hh.
        GEMM.multiply(transA: true, m: 3 * h, n: h, k: batch, a: dqRead, lda: 3 * h, b: previous, ldb: h,
                      beta: 1, c: arena.gradient(recurrentWeight), ldc: h)
        Elementwise.addColumnSums(dqRead, rows: batch, cols: 3 * h, ld: 3 * h, into: arena.gradient(recurrentBias))
        GEMM.multiply(m: batch, n: h, k: 3 * h, a: dqRead, lda: 3 * h, b: arena.value(recurrentWeight), ldb: h,
                      beta: 1, c: ds, ldc: h)
    }
}

extension GRUCell: PackedRecurrentCell {}

extension GRUCell: NarrowRecurrentCell {
    /// `forward` with W_hh stored narrow (batch-1 inference).
    func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                 cache: UnsafeMutablePointer<Float>, scratch q: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena, narrowRecurrentWeight w: NarrowMatrix) {
        let h = hiddenSize
        // q (B, 3H) = h_{t−1}·W_hhᵀ, apart from the input half (r gates only q_n).
        w.multiply(previous, rows: batch, ldx: h, into: q, ldy: 3 * h)
        rk_gru_forward(batch, h, a, lda, q, 3 * h, arena.value(recurrentBias), previous, h, state, h,
                       output, ldy, cache, 4 * h)
    }
}
