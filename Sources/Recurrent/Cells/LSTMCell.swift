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

    /// The element-wise step forward (see `RecurrentCell`): gates i, f, g, o, then c and h.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        forward(projection: a, projectionStride: lda, previous: previous, state: state, output: output,
                outputStride: ldy, cache: cache, scratch: scratch, batch: batch, arena: arena,
                packedRecurrentWeight: nil)
    }

    /// `forward` with W_hh packed once per sequence by the layer (nil: W_hh itself).
    func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena,
                 packedRecurrentWeight: UnsafePointer<Float>?) {
        let h = hiddenSize
        // a (B, 4H) += h_{t−1}·W_hhᵀ; h_{t−1} is the first half of each state row (stride 2H).
        GEMM.multiplyByTransposedWeight(m: batch, n: 4 * h, k: h, a: previous, lda: 2 * h,
                                        weight: arena.value(recurrentWeight), packed: packedRecurrentWeight,
                                        beta: 1, c: a, ldc: lda)
        // Gates, c_t, h_t and the cache in one fused pass (vectorised σ and tanh).
        rk_lstm_forward(batch, h, a, lda, arena.value(recurrentBias), previous + h, 2 * h,
                        state, 2 * h, state + h, 2 * h, output, ldy, cache, 5 * h)
    }

    /// The element-wise step backward (see `RecurrentCell`), the reverse of `forward`.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // ∂a (B, 4H) from ∂h = ∂y + ∂h_t and ∂c_t; ∂c_{t−1} = ∂c·f replaces ∂c_t in place.
        rk_lstm_backward(batch, h, da, lda, dy, ldy, ds, 2 * h, ds + h, 2 * h, cache, 5 * h, previous + h, 2 * h)
        let daRead = UnsafePointer(da)
        // ∂W_hh (4H, H) += ∂aᵀ·h_{t−1}; ∂b_hh += Σ ∂a; ∂h_{t−1} = ∂a·W_hh into the h half.
        GEMM.multiply(transA: true, m: 4 * h, n: h, k: batch, a: daRead, lda: lda, b: previous, ldb: 2 * h,
                      beta: 1, c: arena.gradient(recurrentWeight), ldc: h)
        Elementwise.addColumnSums(daRead, rows: batch, cols: 4 * h, ld: lda, into: arena.gradient(recurrentBias))
        GEMM.multiply(m: batch, n: h, k: 4 * h, a: daRead, lda: lda, b: arena.value(recurrentWeight), ldb: h,
                      beta: 0, c: ds, ldc: 2 * h)
    }
}

extension LSTMCell: PackedRecurrentCell {}

extension LSTMCell: NarrowRecurrentCell {
    /// `forward` with W_hh stored narrow (batch-1 inference).
    func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena, narrowRecurrentWeight w: NarrowMatrix) {
        let h = hiddenSize
        // a (B, 4H) += h_{t−1}·W_hhᵀ; h_{t−1} is the first half of each state row (stride 2H).
        w.multiply(previous, rows: batch, ldx: 2 * h, into: a, ldy: lda, accumulate: true)
        rk_lstm_forward(batch, h, a, lda, arena.value(recurrentBias), previous + h, 2 * h,
                        state, 2 * h, state + h, 2 * h, output, ldy, cache, 5 * h)
    }
}

extension LSTMCell: SummedRecurrentGradientCell {
    func backwardStep(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                      state: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                      cache: UnsafePointer<Float>, previousCell: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                      batch: Int, packedRecurrentWeight: UnsafePointer<Float>) {
        let h = hiddenSize
        rk_lstm_backward(batch, h, da, lda, dy, ldy, ds, 2 * h, ds + h, 2 * h, cache, 5 * h, previousCell, 2 * h)
        // ∂h_{t−1} (B, H) = ∂a (B, 4H)·W_hh (4H, H) into the h half of the state gradient.
        GEMM.multiply(m: batch, n: h, k: 4 * h, a: da, lda: lda, packedB: packedRecurrentWeight, beta: 0, c: ds, ldc: 2 * h)
    }
}
