/// Layer-normalised LSTM (Ba et al. 2016, "Layer Normalization", eq. 20–22): the input and the
/// recurrent products are each normalised over all 4H gate pre-activations, and the cell state
/// over its H values before the output's tanh:
///
///     a = LN(W_ih·x_t; γ_ih) + LN(W_hh·h_{t−1}; γ_hh) + b        gate order i, f, g, o
///     c_t = σ(a_f) ⊙ c_{t−1} + σ(a_i) ⊙ tanh(a_g)
///     h_t = σ(a_o) ⊙ tanh(LN(c_t; γ_c) + β_c)
///
/// LN(v; γ) = γ ⊙ (v − mean v)/√(var v + ε), ε = 1e-5 (`LayerNormalization`); the normalisations
/// of the products have gains only, their biases being the one b.
///
/// Parameters: `weight_ih_l{k}` (4H, D), `weight_hh_l{k}` (4H, H), `ln_ih_weight_l{k}` (4H),
/// `ln_hh_weight_l{k}` (4H), `bias_l{k}` (4H), `ln_c_weight_l{k}` (H), `ln_c_bias_l{k}` (H).
/// Gains start at 1, biases at 0 (with Glorot/orthogonal initialisation the forget gate's at 1).
/// State per row: [h | c] (S = 2H); output h. The products reach the step apart, so the step can
/// normalise each; the gains and biases are the step's own (`stepParameters`): their gradients
/// add up per row in the scratch, which keeps the rows parallel.
public struct LayerNormLSTMCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let recurrentWeight: Parameter
    public let inputGain: Parameter
    public let recurrentGain: Parameter
    public let bias: Parameter
    public let cellGain: Parameter
    public let cellBias: Parameter

    public var inputBias: Parameter? { nil }
    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { 2 * hiddenSize }
    public var projectionSize: Int { 4 * hiddenSize }
    /// x̂_ih (4H), x̂_hh (4H), gates i, f, g, o (4H), x̂_c (H), tanh(ĉ) (H), and the three 1/σ.
    public var cacheSize: Int { 14 * hiddenSize + 3 }
    /// Backward: the step parameters' gradient sums (14H), then ∂a (4H); forward: a (4H).
    public var scratchSize: Int { 18 * hiddenSize }
    public var stepParameters: [Parameter] { [inputGain, recurrentGain, bias, cellGain, cellBias] }
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: nil, product: .apart) }

    /// Registers the parameters under `prefix`, layer `layer`, `suffix` "_reverse" for a
    /// bidirectional layer's backward direction.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let p = NormalizedGateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 4, inputSize: inputSize,
                                         hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputGain, recurrentGain) = (p.inputWeight, p.recurrentWeight, p.inputGain, p.recurrentGain)
        let forgetBias: Initializer = initialization == .glorotOrthogonal ? .blocks(count: 4, one: 1) : .zeros
        bias = layout.add(NormalizedGateParameters.name("bias", prefix, layer, suffix), rows: 4 * hiddenSize,
                          initializer: forgetBias)
        cellGain = layout.add(NormalizedGateParameters.name("ln_c_weight", prefix, layer, suffix), rows: hiddenSize,
                              initializer: .constant(1))
        cellBias = layout.add(NormalizedGateParameters.name("ln_c_bias", prefix, layer, suffix), rows: hiddenSize,
                              initializer: .zeros)
    }

    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent q: UnsafePointer<Float>?, recurrentStride ldq: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output y: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let (h, g) = (hiddenSize, 4 * hiddenSize)
        let (gx, gh, b) = (arena.value(inputGain), arena.value(recurrentGain), arena.value(bias))
        let (gc, bc) = (arena.value(cellGain), arena.value(cellBias))
        for r in 0..<batch {
            let k = cache + r * cacheSize
            let (xp, xq, gates, xc, tc) = (k, k + g, k + 2 * g, k + 3 * g, k + 3 * g + h)
            let rstd = k + 3 * g + 2 * h
            let a = scratch + r * scratchSize
            rstd[0] = LayerNormalization.normalize(p + r * lda, count: g, into: xp)
            rstd[1] = LayerNormalization.normalize(q! + r * ldq, count: g, into: xq)
            for j in 0..<g { a[j] = gx[j] * xp[j] + gh[j] * xq[j] + b[j] }
            LayerNormalization.sigmoid(a, count: 2 * h, into: gates)                  // i, f
            LayerNormalization.tanh(a + 2 * h, count: h, into: gates + 2 * h)         // g
            LayerNormalization.sigmoid(a + 3 * h, count: h, into: gates + 3 * h)      // o
            let (cPrevious, h1, c1) = (previous + r * 2 * h + h, state + r * 2 * h, state + r * 2 * h + h)
            for j in 0..<h { c1[j] = gates[h + j] * cPrevious[j] + gates[j] * gates[2 * h + j] }
            rstd[2] = LayerNormalization.normalize(c1, count: h, into: xc)
            for j in 0..<h { tc[j] = gc[j] * xc[j] + bc[j] }
            LayerNormalization.tanh(tc, count: h, into: tc)
            let yr = y + r * ldy
            for j in 0..<h {
                let v = gates[3 * h + j] * tc[j]
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
        let (h, g) = (hiddenSize, 4 * hiddenSize)
        let (gx, gh, gc) = (arena.value(inputGain), arena.value(recurrentGain), arena.value(cellGain))
        for r in 0..<batch {
            let k = cache + r * cacheSize
            let (xp, xq, gates, xc, tc) = (k, k + g, k + 2 * g, k + 3 * g, k + 3 * g + h)
            let rstd = k + 3 * g + 2 * h
            // This row's gradient sums, in `stepParameters` order, then ∂a.
            let sums = scratch + r * scratchSize
            let (dgx, dgh, db, dgc, dbc) = (sums, sums + g, sums + 2 * g, sums + 3 * g, sums + 3 * g + h)
            let da = sums + 14 * h
            let (dh, dc) = (ds + r * 2 * h, ds + r * 2 * h + h)
            let (dyr, cPrevious) = (dy + r * ldy, previous + r * 2 * h + h)
            // ∂ĉ and ∂o from ∂h; ∂ĉ's ∂x̂_c goes into da's first H (free until the gates' turn).
            let dxc = da
            for j in 0..<h {
                let dhj = dyr[j] + dh[j], o = gates[3 * h + j]
                let dchat = dhj * o * (1 - tc[j] * tc[j])
                dgc[j] += dchat * xc[j]
                dbc[j] += dchat
                dxc[j] = dchat * gc[j]
                da[3 * h + j] = dhj * tc[j] * o * (1 - o)
            }
            // dc += LN's backward; written into dh (spent) for the moment.
            LayerNormalization.backward(dxc, xhat: xc, rstd: rstd[2], count: h, into: dh)
            for j in 0..<h {
                let (i, f, gg) = (gates[j], gates[h + j], gates[2 * h + j])
                let dct = dc[j] + dh[j]
                da[j] = dct * gg * i * (1 - i)
                da[h + j] = dct * cPrevious[j] * f * (1 - f)
                da[2 * h + j] = dct * i * (1 - gg * gg)
                dc[j] = dct * f
                dh[j] = 0   // h_{t−1} reaches the loss through W_hh only
            }
            for j in 0..<g {
                db[j] += da[j]
                dgx[j] += da[j] * xp[j]
                dgh[j] += da[j] * xq[j]
            }
            // ∂p and ∂q through the two normalisations: ∂x̂ = ∂a ⊙ γ, built in place in the outputs.
            let (dpr, dqr) = (dp + r * lda, dq! + r * ldq)
            for j in 0..<g {
                dpr[j] = da[j] * gx[j]
                da[j] *= gh[j]
            }
            LayerNormalization.backward(dpr, xhat: xp, rstd: rstd[0], count: g, into: dpr)
            LayerNormalization.backward(da, xhat: xq, rstd: rstd[1], count: g, into: dqr)
        }
    }
}

extension LayerNormLSTMCell {
    /// `lnlstm`.
    public static let registration = CellRegistration(name: "lnlstm") { s, layout in
        LayerNormLSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                          initialization: s.initialization, layout: &layout)
    }
}
