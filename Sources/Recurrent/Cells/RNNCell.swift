import CRecurrentKernels

/// The vanilla (Elman) cell of the lecture: h_t = φ(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh),
/// with φ = tanh or relu, as PyTorch's nn.RNN.
///
/// Parameters, PyTorch's names and layout: `weight_ih_l{k}` (H, D), `weight_hh_l{k}` (H, H),
/// `bias_ih_l{k}` (H), `bias_hh_l{k}` (H). State and output are both h (S = H).
public struct RNNCell: RecurrentCell {
    public enum Nonlinearity: String, Sendable, CaseIterable { case tanh, relu }

    public let inputSize: Int
    public let hiddenSize: Int
    public let nonlinearity: Nonlinearity
    public let inputWeight: Parameter
    public let inputBias: Parameter?
    public let recurrentWeight: Parameter
    public let recurrentBias: Parameter

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { hiddenSize }
    public var cacheSize: Int { 0 }
    public var scratchSize: Int { 0 }

    /// Registers `prefix.weight_ih_l{layer}{suffix}` and the rest; PyTorch's default U(±1/√H) for all.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, nonlinearity: Nonlinearity = .tanh,
                layer: Int = 0, suffix: String = "", initialization: RecurrentInitialization = .pytorch,
                layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.nonlinearity = nonlinearity
        let p = GateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 1, inputSize: inputSize,
                               hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputBias, recurrentBias) = (p.inputWeight, p.recurrentWeight, p.inputBias, p.recurrentBias)
    }

    /// The element-wise step forward (see `RecurrentCell`): h = tanh or relu of the projections.
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
        // a (B, H) += h_{t−1}·W_hhᵀ, in place over the projection rows.
        GEMM.multiplyByTransposedWeight(m: batch, n: h, k: h, a: previous, lda: h,
                                        weight: arena.value(recurrentWeight), packed: packedRecurrentWeight,
                                        beta: 1, c: a, ldc: lda)
        rk_rnn_forward(batch, h, nonlinearity == .relu ? 1 : 0, a, lda, arena.value(recurrentBias), state, h, output, ldy)
    }

    /// The element-wise step backward (see `RecurrentCell`), the reverse of `forward`.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // ∂a = (∂y_t + ∂h_t)·φ'(a), with φ' read off h: tanh' = 1 − h², relu' = [h > 0].
        rk_rnn_backward(batch, h, nonlinearity == .relu ? 1 : 0, da, lda, state, h, dy, ldy, ds, h)
        let daRead = UnsafePointer(da)
        // ∂W_hh (H, H) += ∂aᵀ·h_{t−1}; ∂b_hh += Σ_b ∂a; ∂h_{t−1} = ∂a·W_hh.
        GEMM.multiply(transA: true, m: h, n: h, k: batch, a: daRead, lda: lda, b: previous, ldb: h,
                      beta: 1, c: arena.gradient(recurrentWeight), ldc: h)
        Elementwise.addColumnSums(daRead, rows: batch, cols: h, ld: lda, into: arena.gradient(recurrentBias))
        GEMM.multiply(m: batch, n: h, k: h, a: daRead, lda: lda, b: arena.value(recurrentWeight), ldb: h,
                      beta: 0, c: ds, ldc: h)
    }
}

extension RNNCell: PackedRecurrentCell {}

extension RNNCell: NarrowRecurrentCell {
    /// `forward` with W_hh stored narrow (batch-1 inference).
    func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena, narrowRecurrentWeight w: NarrowMatrix) {
        let h = hiddenSize
        // a (B, H) += h_{t−1}·W_hhᵀ, in place over the projection rows.
        w.multiply(previous, rows: batch, ldx: h, into: a, ldy: lda, accumulate: true)
        rk_rnn_forward(batch, h, nonlinearity == .relu ? 1 : 0, a, lda, arena.value(recurrentBias), state, h, output, ldy)
    }
}

extension RNNCell: SummedRecurrentGradientCell {
    func backwardStep(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                      state: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                      cache: UnsafePointer<Float>, previousCell: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                      batch: Int, packedRecurrentWeight: UnsafePointer<Float>) {
        let h = hiddenSize
        rk_rnn_backward(batch, h, nonlinearity == .relu ? 1 : 0, da, lda, state, h, dy, ldy, ds, h)
        // ∂h_{t−1} (B, H) = ∂a (B, H)·W_hh (H, H).
        GEMM.multiply(m: batch, n: h, k: h, a: da, lda: lda, packedB: packedRecurrentWeight, beta: 0, c: ds, ldc: h)
    }
}
