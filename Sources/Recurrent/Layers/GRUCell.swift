import Foundation

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

    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        let inits = initialization.initializers(hiddenSize: hiddenSize, gates: 3, forgetGate: nil)
        inputWeight = layout.add(names.weightIH, rows: 3 * hiddenSize, cols: inputSize, initializer: inits.inputWeight)
        recurrentWeight = layout.add(names.weightHH, rows: 3 * hiddenSize, cols: hiddenSize, initializer: inits.recurrentWeight)
        inputBias = layout.add(names.biasIH, rows: 3 * hiddenSize, initializer: inits.inputBias)
        recurrentBias = layout.add(names.biasHH, rows: 3 * hiddenSize, initializer: inits.recurrentBias)
    }

    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch q: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        // q (B, 3H) = h_{t−1}·W_hhᵀ; kept apart from the input half because r gates only q_n.
        GEMM.multiply(transB: true, m: batch, n: 3 * h, k: h, a: previous, lda: h,
                      b: arena.value(recurrentWeight), ldb: h, beta: 0, c: q, ldc: 3 * h)
        let bias = arena.value(recurrentBias)
        for row in 0..<batch {
            let ar = a + row * lda, qr = q + row * 3 * h, hp = previous + row * h
            let sr = state + row * h, yr = output + row * ldy, k = cache + row * 4 * h
            for j in 0..<h {
                let r = Elementwise.sigmoid(ar[j] + qr[j] + bias[j])
                let z = Elementwise.sigmoid(ar[h + j] + qr[h + j] + bias[h + j])
                let hn = qr[2 * h + j] + bias[2 * h + j]
                let n = Foundation.tanh(ar[2 * h + j] + r * hn)
                let v = (1 - z) * n + z * hp[j]
                k[j] = r; k[h + j] = z; k[2 * h + j] = n; k[3 * h + j] = hn
                sr[j] = v
                yr[j] = v
            }
        }
    }

    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        let dq = scratch, direct = scratch + batch * 3 * h
        for row in 0..<batch {
            let dar = da + row * lda, dyr = dy + row * ldy, k = cache + row * 4 * h, hp = previous + row * h
            let dsr = ds + row * h, dqr = dq + row * 3 * h, dr0 = direct + row * h
            for j in 0..<h {
                let (r, z, n, hn) = (k[j], k[h + j], k[2 * h + j], k[3 * h + j])
                let dh = dyr[j] + dsr[j]
                let dan = dh * (1 - z) * (1 - n * n)
                let daz = dh * (hp[j] - n) * z * (1 - z)
                let dar0 = dan * hn * r * (1 - r)
                dar[j] = dar0; dar[h + j] = daz; dar[2 * h + j] = dan
                dqr[j] = dar0; dqr[h + j] = daz; dqr[2 * h + j] = dan * r
                dr0[j] = dh * z
            }
        }
        let dqRead = UnsafePointer(dq)
        // ∂W_hh (3H, H) += ∂qᵀ·h_{t−1}; ∂b_hh += Σ ∂q; ∂h_{t−1} = z ⊙ ∂h + ∂q·W_hh.
        GEMM.multiply(transA: true, m: 3 * h, n: h, k: batch, a: dqRead, lda: 3 * h, b: previous, ldb: h,
                      beta: 1, c: arena.gradient(recurrentWeight), ldc: h)
        Elementwise.addColumnSums(dqRead, rows: batch, cols: 3 * h, ld: 3 * h, into: arena.gradient(recurrentBias))
        ds.update(from: direct, count: batch * h)
        GEMM.multiply(m: batch, n: h, k: 3 * h, a: dqRead, lda: 3 * h, b: arena.value(recurrentWeight), ldb: h,
                      beta: 1, c: ds, ldc: h)
    }
}
