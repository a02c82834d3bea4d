import CRecurrentKernels

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
    /// a and b forward, ∂a and ∂b backward.
    public var scratchSize: Int { 2 * hiddenSize }
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

    /// The step: a and b from the kernel (the scan's own), then s_t = a ⊙ s_{t−1} + b (`LinearStateStep`).
    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        LinearStateStep.forward(hidden: hiddenSize, lstm: 0, projection: p, ldp: lda, previous: previous, state: state,
                                output: output, ldy: ldy, cache: cache, scratch: scratch, batch: batch)
    }

    /// The step's backward (`LinearStateStep`).
    public func backward(projectionGradient dp: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        LinearStateStep.backward(hidden: hiddenSize, lstm: 0, projectionGradient: dp, ldp: lda, previous: previous,
                                 outputGradient: dy, ldy: ldy, cache: cache, stateGradient: ds, scratch: scratch, batch: batch)
    }
}

extension MinGRUCell {
    /// z (H) and the candidate g(W_h·x_t + b_h) (H), from the cache.
    public var gates: [CellGate] {
        [CellGate("z", .sigmoid, width: hiddenSize), CellGate("candidate", .identity, width: hiddenSize)]
    }

    /// z and the candidate as the step cached them.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        gates.update(from: cache, count: 2 * hiddenSize)
    }

    /// h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃: a = 1 − z, b = z ⊙ h̃.
    public var isLinearInState: Bool { true }

    /// a and b for R rows at once (the vectorised kernel; the cache as `forward` keeps it).
    public func scanCoefficients(projection p: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                                 b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>) {
        rk_min_coefficients(rows, hiddenSize, 0, p, projectionSize, a, b, hiddenSize, cache)
    }

    /// ∂p for R rows from ∂a and ∂b (the kernel's backward).
    public func scanCoefficientsBackward(aGradient da: UnsafePointer<Float>, bGradient db: UnsafePointer<Float>,
                                         cache: UnsafePointer<Float>, rows: Int, projectionGradient dp: UnsafeMutablePointer<Float>) {
        rk_min_coefficients_backward(rows, hiddenSize, 0, da, db, hiddenSize, cache, dp, projectionSize)
    }

    /// `mingru`.
    public static let registration = CellRegistration(name: "mingru") { s, layout in
        MinGRUCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                   initialization: s.initialization, layout: &layout)
    }
}

/// The step of minGRU (`lstm` 0) and minLSTM (1) from the coefficients kernel, the same
/// arithmetic as the unroller's scan: s_t = a ⊙ s_{t−1} + b; backward ∂a = ∂h ⊙ s_{t−1}, ∂b = ∂h,
/// ∂s_{t−1} = a ⊙ ∂h with a read off the cache (1 − z, or f/(f + i)). The scratch holds a and b
/// (∂a and ∂b), (B, H) each.
enum LinearStateStep {
    static func forward(hidden h: Int, lstm: Int32, projection p: UnsafePointer<Float>, ldp: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                        ldy: Int, cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, batch: Int) {
        let (a, b) = (scratch, scratch + batch * h)
        rk_min_coefficients(batch, h, lstm, p, ldp, a, b, h, cache)
        for r in 0..<batch {
            let (ar, br, hp, hr, yr) = (a + r * h, b + r * h, previous + r * h, state + r * h, output + r * ldy)
            for j in 0..<h {
                let v = ar[j] * hp[j] + br[j]
                hr[j] = v
                yr[j] = v
            }
        }
    }

    static func backward(hidden h: Int, lstm: Int32, projectionGradient dp: UnsafeMutablePointer<Float>, ldp: Int,
                         previous: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int) {
        let (da, db) = (scratch, scratch + batch * h)
        let gates = lstm == 1 ? 3 : 2
        for r in 0..<batch {
            let (hp, dyr, dsr, cr) = (previous + r * h, dy + r * ldy, ds + r * h, cache + r * gates * h)
            for j in 0..<h {
                let total = dyr[j] + dsr[j]
                let a = lstm == 1 ? cr[j] / (cr[j] + cr[h + j]) : 1 - cr[j]
                da[r * h + j] = total * hp[j]
                db[r * h + j] = total
                dsr[j] = a * total
            }
        }
        rk_min_coefficients_backward(batch, h, lstm, da, db, h, cache, dp, ldp)
    }
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
