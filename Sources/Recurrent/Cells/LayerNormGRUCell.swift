/// Layer-normalised GRU: PyTorch's GRU with the input and the recurrent products each normalised
/// over all 3H gate pre-activations (as Ba et al. 2016 do for the LSTM; a GRU has no cell state
/// to normalise):
///
///     u = LN(W_ih·x_t; γ_ih) + b_ih        v = LN(W_hh·h_{t−1}; γ_hh) + b_hh      gate order r, z, n
///     r = σ(u_r + v_r)   z = σ(u_z + v_z)   n = tanh(u_n + r ⊙ v_n)
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
///
/// LN(v; γ) = γ ⊙ (v − mean v)/√(var v + ε), ε = 1e-5 (`LayerNormalization`).
///
/// Parameters: `weight_ih_l{k}` (3H, D), `weight_hh_l{k}` (3H, H), `ln_ih_weight_l{k}` (3H),
/// `ln_hh_weight_l{k}` (3H), `bias_ih_l{k}` (3H), `bias_hh_l{k}` (3H). Gains start at 1, biases
/// at 0. State and output: h. The products reach the step apart; the gains and biases are the
/// step's own (`stepParameters`): their gradients add up per row in the scratch, which keeps the
/// rows parallel.
public struct LayerNormGRUCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let recurrentWeight: Parameter
    public let inputGain: Parameter
    public let recurrentGain: Parameter
    public let normalizedInputBias: Parameter
    public let normalizedRecurrentBias: Parameter

    public var inputBias: Parameter? { nil }
    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { 3 * hiddenSize }
    /// x̂_ih (3H), x̂_hh (3H), r, z, n (3H), v_n (H), and the two 1/σ.
    public var cacheSize: Int { 10 * hiddenSize + 2 }
    /// Backward: the step parameters' gradient sums (12H), then ∂u and ∂v (6H); forward: the gate
    /// pre-activations (3H).
    public var scratchSize: Int { 18 * hiddenSize }
    public var stepParameters: [Parameter] { [inputGain, recurrentGain, normalizedInputBias, normalizedRecurrentBias] }
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: nil, product: .apart) }

    /// Registers the parameters under `prefix`, layer `layer`, `suffix` "_reverse" for a
    /// bidirectional layer's backward direction.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let p = NormalizedGateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 3, inputSize: inputSize,
                                         hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputGain, recurrentGain) = (p.inputWeight, p.recurrentWeight, p.inputGain, p.recurrentGain)
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        normalizedInputBias = layout.add(names.biasIH, rows: 3 * hiddenSize, initializer: .zeros)
        normalizedRecurrentBias = layout.add(names.biasHH, rows: 3 * hiddenSize, initializer: .zeros)
    }

    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent q: UnsafePointer<Float>?, recurrentStride ldq: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output y: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let (h, g) = (hiddenSize, 3 * hiddenSize)
        let (gx, gh) = (arena.value(inputGain), arena.value(recurrentGain))
        let (bx, bh) = (arena.value(normalizedInputBias), arena.value(normalizedRecurrentBias))
        for r in 0..<batch {
            let k = cache + r * cacheSize
            let (xp, xq, gates, vn, rstd) = (k, k + g, k + 2 * g, k + 3 * g, k + 3 * g + h)
            let a = scratch + r * scratchSize
            rstd[0] = LayerNormalization.normalize(p + r * lda, count: g, into: xp)
            rstd[1] = LayerNormalization.normalize(q! + r * ldq, count: g, into: xq)
            for j in 0..<(2 * h) { a[j] = gx[j] * xp[j] + bx[j] + gh[j] * xq[j] + bh[j] }
            LayerNormalization.sigmoid(a, count: 2 * h, into: gates)   // r, z
            for j in 0..<h {
                let n = 2 * h + j
                vn[j] = gh[n] * xq[n] + bh[n]
                a[n] = gx[n] * xp[n] + bx[n] + gates[j] * vn[j]
            }
            LayerNormalization.tanh(a + 2 * h, count: h, into: gates + 2 * h)
            let (hPrevious, h1, yr) = (previous + r * h, state + r * h, y + r * ldy)
            for j in 0..<h {
                let (z, n) = (gates[h + j], gates[2 * h + j])
                let v = (1 - z) * n + z * hPrevious[j]
                h1[j] = v
                yr[j] = v
            }
        }
    }

    public func backward(projectionGradient dp: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient dq: UnsafeMutablePointer<Float>?, recurrentStride ldq: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let (h, g) = (hiddenSize, 3 * hiddenSize)
        let (gx, gh) = (arena.value(inputGain), arena.value(recurrentGain))
        for r in 0..<batch {
            let k = cache + r * cacheSize
            let (xp, xq, gates, vn, rstd) = (k, k + g, k + 2 * g, k + 3 * g, k + 3 * g + h)
            // This row's gradient sums, in `stepParameters` order, then ∂u and ∂v.
            let sums = scratch + r * scratchSize
            let (dgx, dgh, dbx, dbh) = (sums, sums + g, sums + 2 * g, sums + 3 * g)
            let (du, dv) = (sums + 4 * g, sums + 5 * g)
            let (dyr, dsr, hPrevious) = (dy + r * ldy, ds + r * h, previous + r * h)
            for j in 0..<h {
                let (rr, z, n) = (gates[j], gates[h + j], gates[2 * h + j])
                let dh = dyr[j] + dsr[j]
                let dan = dh * (1 - z) * (1 - n * n)
                let dar = dan * vn[j] * rr * (1 - rr)
                let daz = dh * (hPrevious[j] - n) * z * (1 - z)
                (du[j], du[h + j], du[2 * h + j]) = (dar, daz, dan)
                (dv[j], dv[h + j], dv[2 * h + j]) = (dar, daz, dan * rr)
                dsr[j] = dh * z   // the direct part; W_hh's is the unroller's
            }
            for j in 0..<g {
                dbx[j] += du[j]
                dbh[j] += dv[j]
                dgx[j] += du[j] * xp[j]
                dgh[j] += dv[j] * xq[j]
                du[j] *= gx[j]
                dv[j] *= gh[j]
            }
            LayerNormalization.backward(du, xhat: xp, rstd: rstd[0], count: g, into: dp + r * lda)
            LayerNormalization.backward(dv, xhat: xq, rstd: rstd[1], count: g, into: dq! + r * ldq)
        }
    }
}

extension LayerNormGRUCell {
    /// `lngru`.
    public static let registration = CellRegistration(name: "lngru") { s, layout in
        LayerNormGRUCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                         initialization: s.initialization, layout: &layout)
    }
}
