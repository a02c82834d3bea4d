/// minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gate and candidate read
/// the input only, so the recurrence is linear in h:
///
///     z = σ(W_z·x_t + b_z)      h̃ = g(W_h·x_t + b_h)      h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃
///
/// with the paper's g(v) = v + ½ for v ≥ 0 and σ(v) below (appendix B.3), which keeps h̃
/// positive so the same model runs in the paper's log-space parallel form. Nothing multiplies
/// h_{t−1}: the cell has no W_hh (its `recurrence` is nil).
///
/// Parameters: `weight_ih_l{k}` (2H, D) and `bias_ih_l{k}` (2H), blocks z, h. State and output: h.
public struct MinGRUCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let inputBias: Parameter?

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { 2 * hiddenSize }
    /// z and h̃.
    public var cacheSize: Int { 2 * hiddenSize }
    public var scratchSize: Int { 0 }
    public var recurrence: Recurrence? { nil }

    /// Registers `{prefix}.weight_ih_l{layer}{suffix}` and `bias_ih`, initialised as the GRU's.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, layer: Int = 0, suffix: String = "",
                initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        (inputWeight, inputBias) = InputParameters.register(prefix: prefix, layer: layer, suffix: suffix, gates: 2,
                                                            inputSize: inputSize, hiddenSize: hiddenSize,
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
            let (ar, hp, hr, yr, cr) = (a + r * lda, previous + r * h, state + r * h, output + r * ldy, cache + r * 2 * h)
            for j in 0..<h {
                let z = Elementwise.sigmoid(ar[j]), candidate = MinimalGates.g(ar[h + j])
                let next = (1 - z) * hp[j] + z * candidate
                (cr[j], cr[h + j], hr[j], yr[j]) = (z, candidate, next, next)
            }
        }
    }

    /// ∂h = ∂y_t + ∂h_t; ∂h_{t−1} = (1 − z) ⊙ ∂h, ∂a_z = ∂h ⊙ (h̃ − h_{t−1}) ⊙ z(1 − z),
    /// ∂a_h = ∂h ⊙ z ⊙ g'(a_h), g' read off h̃.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        for r in 0..<batch {
            let (dar, hp, dyr, dsr, cr) = (da + r * lda, previous + r * h, dy + r * ldy, ds + r * h, cache + r * 2 * h)
            for j in 0..<h {
                let (z, candidate) = (cr[j], cr[h + j])
                let dh = dyr[j] + dsr[j]
                dar[j] = dh * (candidate - hp[j]) * z * (1 - z)
                dar[h + j] = dh * z * MinimalGates.gDerivative(candidate)
                dsr[j] = (1 - z) * dh
            }
        }
    }
}

extension MinGRUCell {
    /// h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃: a = 1 − z, b = z ⊙ h̃.
    public var isLinearInState: Bool { true }

    /// a = 1 − z and b = z ⊙ h̃ for R rows; the cache keeps z and h̃, as `forward` does.
    public func scanCoefficients(projection p: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                                 b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>) {
        let h = hiddenSize
        for r in 0..<rows {
            let (pr, ar, br, cr) = (p + r * 2 * h, a + r * h, b + r * h, cache + r * 2 * h)
            for j in 0..<h {
                let z = Elementwise.sigmoid(pr[j]), candidate = MinimalGates.g(pr[h + j])
                (ar[j], br[j], cr[j], cr[h + j]) = (1 - z, z * candidate, z, candidate)
            }
        }
    }

    /// ∂z = −∂a + ∂b ⊙ h̃, ∂h̃ = ∂b ⊙ z, then through σ and g.
    public func scanCoefficientsBackward(aGradient da: UnsafePointer<Float>, bGradient db: UnsafePointer<Float>,
                                         cache: UnsafePointer<Float>, rows: Int, projectionGradient dp: UnsafeMutablePointer<Float>) {
        let h = hiddenSize
        for r in 0..<rows {
            let (dar, dbr, cr, dpr) = (da + r * h, db + r * h, cache + r * 2 * h, dp + r * 2 * h)
            for j in 0..<h {
                let (z, candidate) = (cr[j], cr[h + j])
                dpr[j] = (dbr[j] * candidate - dar[j]) * z * (1 - z)
                dpr[h + j] = dbr[j] * z * MinimalGates.gDerivative(candidate)
            }
        }
    }

    /// `mingru`.
    public static let registration = CellRegistration(name: "mingru") { s, layout in
        MinGRUCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                   initialization: s.initialization, layout: &layout)
    }
}

/// What minGRU and minLSTM share: the candidate's activation, and their input-only parameters.
enum MinimalGates {
    /// g(v) = v + ½ for v ≥ 0, σ(v) below: continuous, positive, increasing.
    @inline(__always)
    static func g(_ v: Float) -> Float { v >= 0 ? v + 0.5 : Elementwise.sigmoid(v) }

    /// g'(v) from g(v): 1 where g(v) ≥ ½ (v ≥ 0), else σ'(v) = g(1 − g).
    @inline(__always)
    static func gDerivative(_ gv: Float) -> Float { gv >= 0.5 ? 1 : gv * (1 - gv) }
}

/// W_ih (G·H, D) and b_ih (G·H) under PyTorch's names, for cells without W_hh.
enum InputParameters {
    static func register(prefix: String, layer: Int, suffix: String, gates: Int, forgetGate: Int? = nil, inputSize: Int,
                         hiddenSize: Int, initialization: RecurrentInitialization,
                         layout: inout ParameterLayout) -> (weight: Parameter, bias: Parameter) {
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        let inits = initialization.initializers(hiddenSize: hiddenSize, gates: gates, forgetGate: forgetGate)
        let weight = layout.add(names.weightIH, rows: gates * hiddenSize, cols: inputSize, initializer: inits.inputWeight)
        let bias = layout.add(names.biasIH, rows: gates * hiddenSize, initializer: inits.inputBias)
        return (weight, bias)
    }
}
