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
    public var scratchSize: Int { 0 }
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

    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        for r in 0..<batch {
            let (ar, hp, hr, yr, cr) = (a + r * lda, previous + r * h, state + r * h, output + r * ldy, cache + r * 3 * h)
            for j in 0..<h {
                let f = Elementwise.sigmoid(ar[j]), i = Elementwise.sigmoid(ar[h + j])
                let candidate = MinimalGates.g(ar[2 * h + j]), s = f + i
                // As the scan computes it (`scanCoefficients`): a = f', b = i' ⊙ h̃, then a·h + b.
                let next = f / s * hp[j] + i * candidate / s
                (cr[j], cr[h + j], cr[2 * h + j], hr[j], yr[j]) = (f, i, candidate, next, next)
            }
        }
    }

    /// ∂h = ∂y_t + ∂h_t; ∂h_{t−1} = f' ⊙ ∂h; with s = f + i, ∂f = ∂h ⊙ i(h_{t−1} − h̃)/s²,
    /// ∂i = ∂h ⊙ f(h̃ − h_{t−1})/s², then through σ; ∂a_h = ∂h ⊙ i' ⊙ g'(a_h).
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        for r in 0..<batch {
            let (dar, hp, dyr, dsr, cr) = (da + r * lda, previous + r * h, dy + r * ldy, ds + r * h, cache + r * 3 * h)
            for j in 0..<h {
                let (f, i, candidate) = (cr[j], cr[h + j], cr[2 * h + j])
                let dh = dyr[j] + dsr[j]
                let s = f + i, difference = hp[j] - candidate
                let df = dh * i * difference / (s * s), di = -dh * f * difference / (s * s)
                dar[j] = df * f * (1 - f)
                dar[h + j] = di * i * (1 - i)
                dar[2 * h + j] = dh * (i / s) * MinimalGates.gDerivative(candidate)
                dsr[j] = (f / s) * dh
            }
        }
    }
}

extension MinLSTMCell {
    /// h_t = f' ⊙ h_{t−1} + i' ⊙ h̃: a = f', b = i' ⊙ h̃.
    public var isLinearInState: Bool { true }

    /// a = f / (f + i) and b = i ⊙ h̃ / (f + i) for R rows; the cache keeps f, i and h̃.
    public func scanCoefficients(projection p: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                                 b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>) {
        let h = hiddenSize
        for r in 0..<rows {
            let (pr, ar, br, cr) = (p + r * 3 * h, a + r * h, b + r * h, cache + r * 3 * h)
            for j in 0..<h {
                let f = Elementwise.sigmoid(pr[j]), i = Elementwise.sigmoid(pr[h + j])
                let candidate = MinimalGates.g(pr[2 * h + j]), s = f + i
                (ar[j], br[j], cr[j], cr[h + j], cr[2 * h + j]) = (f / s, i * candidate / s, f, i, candidate)
            }
        }
    }

    /// With s = f + i: ∂f = i(∂a − ∂b ⊙ h̃)/s², ∂i = f(∂b ⊙ h̃ − ∂a)/s², ∂h̃ = ∂b ⊙ i/s, then σ and g.
    public func scanCoefficientsBackward(aGradient da: UnsafePointer<Float>, bGradient db: UnsafePointer<Float>,
                                         cache: UnsafePointer<Float>, rows: Int, projectionGradient dp: UnsafeMutablePointer<Float>) {
        let h = hiddenSize
        for r in 0..<rows {
            let (dar, dbr, cr, dpr) = (da + r * h, db + r * h, cache + r * 3 * h, dp + r * 3 * h)
            for j in 0..<h {
                let (f, i, candidate) = (cr[j], cr[h + j], cr[2 * h + j])
                let s = f + i, difference = dar[j] - dbr[j] * candidate
                dpr[j] = i * difference / (s * s) * f * (1 - f)
                dpr[h + j] = -f * difference / (s * s) * i * (1 - i)
                dpr[2 * h + j] = dbr[j] * (i / s) * MinimalGates.gDerivative(candidate)
            }
        }
    }

    /// `minlstm`.
    public static let registration = CellRegistration(name: "minlstm") { s, layout in
        MinLSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                    initialization: s.initialization, layout: &layout)
    }
}
