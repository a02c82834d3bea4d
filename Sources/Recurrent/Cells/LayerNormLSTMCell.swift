import CRecurrentKernels
import Foundation

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
    /// x̂_ih (4H), x̂_hh (4H), the three 1/σ and c_t's mean (`rk_lnlstm_forward`'s layout): backward
    /// recomputes the gates and x̂_c from them and c_t.
    public var cacheSize: Int { 8 * hiddenSize + 4 }
    /// Backward: the step parameters' gradient sums (14H); forward uses none.
    public var scratchSize: Int { 14 * hiddenSize }
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

    /// The element-wise step forward (see `RecurrentCell`) in one fused kernel; per row: the two
    /// products' statistics, the gates and c_t, c_t's statistics, then h_t.
    public func forward(projection p: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent q: UnsafePointer<Float>?, recurrentStride ldq: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output y: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let (h, s) = (hiddenSize, stateSize)
        rk_lnlstm_forward(batch, h, p, lda, q!, ldq, arena.value(inputGain), arena.value(recurrentGain),
                          arena.value(bias), arena.value(cellGain), arena.value(cellBias), LayerNormalization.epsilon,
                          previous + h, s, state, s, state + h, s, y, ldy, cache, cacheSize)
    }

    /// The element-wise step backward (see `RecurrentCell`): ∂a from ∂h = ∂y + ∂h_t through the
    /// cell norm and the gates, ∂c_{t−1} = ∂c·f in place of ∂c_t, ∂p and ∂q through the two
    /// normalisations; this row's step-parameter sums grow in its scratch. h_{t−1} reaches the
    /// loss through W_hh only, so its direct part is zero.
    public func backward(projectionGradient dp: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient dq: UnsafeMutablePointer<Float>?, recurrentStride ldq: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let (h, s) = (hiddenSize, stateSize)
        rk_lnlstm_backward(batch, h, dp, lda, dq!, ldq, dy, ldy, ds, s, ds + h, s, cache, cacheSize, previous + h, s,
                           state + h, s, arena.value(inputGain), arena.value(recurrentGain), arena.value(bias),
                           arena.value(cellGain), arena.value(cellBias), scratch, scratchSize)
    }

    /// i, f, g, o (H each), recomputed from the cache, and the cell state c_t (H, before its
    /// normalisation) from the state.
    public var gates: [CellGate] {
        CellGate.lstm(hiddenSize: hiddenSize)
    }

    /// The gates from the cached x̂_p, x̂_q as the kernel forms them, a = γ_p·x̂_p + (γ_q·x̂_q + b)
    /// (the same pre-activations; σ and tanh to rounding), then c_t.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        let h = hiddenSize, g = 4 * hiddenSize
        let (gp, gq, b) = (arena.value(inputGain), arena.value(recurrentGain), arena.value(bias))
        for j in 0..<g {
            let a = b[j].addingProduct(gq[j], cache[g + j]).addingProduct(gp[j], cache[j])
            gates[j] = j / h == 2 ? Foundation.tanh(a) : Elementwise.sigmoid(a)
        }
        (gates + g).update(from: state + h, count: h)
    }
}

extension LayerNormLSTMCell {
    /// `lnlstm`.
    public static let registration = CellRegistration(name: "lnlstm") { s, layout in
        LayerNormLSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, layer: s.layer, suffix: s.suffix,
                          initialization: s.initialization, layout: &layout)
    }
}
