import CRecurrentKernels
import Foundation

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
    /// x̂_ih (3H), x̂_hh (3H) and the two 1/σ (`rk_lngru_forward`'s layout): backward recomputes
    /// the gates from them.
    public var cacheSize: Int { 6 * hiddenSize + 2 }
    /// Backward: the step parameters' gradient sums (12H); forward uses none.
    public var scratchSize: Int { 12 * hiddenSize }
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

    /// The element-wise step forward (see `RecurrentCell`) in one fused kernel; per row: the two
    /// products' statistics, then the gates and h_t.
    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent q: UnsafePointer<Float>?, recurrentStride ldq: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output y: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        rk_lngru_forward(batch, h, p, lda, q!, ldq, arena.value(inputGain), arena.value(recurrentGain),
                         arena.value(normalizedInputBias), arena.value(normalizedRecurrentBias), LayerNormalization.epsilon,
                         previous, h, state, h, y, ldy, cache, cacheSize)
    }

    /// The element-wise step backward (see `RecurrentCell`): ∂u and ∂v from ∂h = ∂y + ∂h_t, then
    /// ∂p and ∂q through the two normalisations; this row's step-parameter sums grow in its
    /// scratch, and ∂h_t becomes z ⊙ ∂h, the direct part (W_hh's is the unroller's).
    public func backward(projectionGradient dp: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient dq: UnsafeMutablePointer<Float>?, recurrentStride ldq: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        rk_lngru_backward(batch, h, dp, lda, dq!, ldq, dy, ldy, ds, h, cache, cacheSize, previous, h,
                          arena.value(inputGain), arena.value(recurrentGain), arena.value(normalizedInputBias),
                          arena.value(normalizedRecurrentBias), scratch, scratchSize)
    }

    /// r, z and n (H each), recomputed from the cache.
    public var gates: [CellGate] {
        CellGate.gru(hiddenSize: hiddenSize)
    }

    /// The gates from the cached x̂_p, x̂_q as the kernel forms them, u = γ_p·x̂_p + b_p and
    /// v = γ_q·x̂_q + b_q (the same pre-activations; σ and tanh to rounding).
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        let h = hiddenSize, g = 3 * hiddenSize
        let (gp, gq) = (arena.value(inputGain), arena.value(recurrentGain))
        let (bp, bq) = (arena.value(normalizedInputBias), arena.value(normalizedRecurrentBias))
        for j in 0..<h {
            func u(_ o: Int) -> Float { bp[o].addingProduct(gp[o], cache[o]) }
            func v(_ o: Int) -> Float { bq[o].addingProduct(gq[o], cache[g + o]) }
            let r = Elementwise.sigmoid(u(j) + v(j))
            gates[j] = r
            gates[h + j] = Elementwise.sigmoid(u(h + j) + v(h + j))
            gates[2 * h + j] = Foundation.tanh(u(2 * h + j).addingProduct(r, v(2 * h + j)))
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
