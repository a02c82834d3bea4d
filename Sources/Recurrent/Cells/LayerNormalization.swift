/// Layer normalisation of one vector (Ba et al. 2016) without its gain and bias, which the
/// layer-normalised cells apply themselves: x̂ = (v − mean v) / √(var v + ε), over all of v,
/// the variance biased (divided by n) and taken in a second pass over the deviations (no
/// cancellation when the mean is large), ε = 1e-5 as PyTorch's `nn.LayerNorm`. The cells' steps
/// run in the C kernels (`rk_lnlstm_forward`, `rk_lngru_forward` and their backward), which take ε
/// from here.
enum LayerNormalization {
    static let epsilon: Float = 1e-5
}

/// The parameters of a layer-normalised gated cell, registered under PyTorch-style names:
/// `weight_ih_l{k}` (G·H, D) and `weight_hh_l{k}` (G·H, H) as PyTorch's, and the normalisations'
/// gains `ln_ih_weight_l{k}` and `ln_hh_weight_l{k}` (G·H), which start at 1.
struct NormalizedGateParameters {
    let inputWeight, recurrentWeight, inputGain, recurrentGain: Parameter

    init(prefix: String, layer: Int, suffix: String, gates: Int, inputSize: Int, hiddenSize: Int,
         initialization: RecurrentInitialization, layout: inout ParameterLayout) {
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        let inits = initialization.initializers(hiddenSize: hiddenSize, gates: gates, forgetGate: nil)
        let g = gates * hiddenSize
        inputWeight = layout.add(names.weightIH, rows: g, cols: inputSize, initializer: inits.inputWeight)
        recurrentWeight = layout.add(names.weightHH, rows: g, cols: hiddenSize, initializer: inits.recurrentWeight)
        inputGain = layout.add(Self.name("ln_ih_weight", prefix, layer, suffix), rows: g, initializer: .constant(1))
        recurrentGain = layout.add(Self.name("ln_hh_weight", prefix, layer, suffix), rows: g, initializer: .constant(1))
    }

    /// `{prefix}.{base}_l{layer}{suffix}`.
    static func name(_ base: String, _ prefix: String, _ layer: Int, _ suffix: String) -> String {
        (prefix.isEmpty ? "" : prefix + ".") + "\(base)_l\(layer)\(suffix)"
    }
}
