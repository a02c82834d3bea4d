/// PyTorch's parameter names for layer k of a recurrent module:
/// `{prefix}.weight_ih_l{k}{suffix}` and so on, suffix "_reverse" for a backward direction.
public struct RecurrentParameterNames: Sendable {
    public let weightIH, weightHH, biasIH, biasHH: String
    /// `weight_hr_l{k}`: an LSTM's output projection.
    public let weightHR: String
    /// The PyTorch names of layer `layer`'s tensors under `prefix` (`_reverse` as `suffix` for the backward direction).
    public init(prefix: String, layer: Int, suffix: String) {
        let p = prefix.isEmpty ? "" : prefix + "."
        weightIH = "\(p)weight_ih_l\(layer)\(suffix)"
        weightHH = "\(p)weight_hh_l\(layer)\(suffix)"
        biasIH = "\(p)bias_ih_l\(layer)\(suffix)"
        biasHH = "\(p)bias_hh_l\(layer)\(suffix)"
        weightHR = "\(p)weight_hr_l\(layer)\(suffix)"
    }
}

/// A gated cell's four parameters registered under PyTorch's names: W_ih (G·H, D),
/// W_hh (G·H, K), b_ih (G·H), b_hh (G·H), K = H unless the output is projected.
struct GateParameters {
    let inputWeight, recurrentWeight, inputBias, recurrentBias: Parameter

    /// - Parameters:
    ///   - forgetGate: the forget gate's block, for the forget-gate bias of 1.
    ///   - recurrentInputs: K, W_hh's columns (the projected width of an LSTM with projections); nil means H.
    init(prefix: String, layer: Int, suffix: String, gates: Int, forgetGate: Int? = nil, inputSize: Int, hiddenSize: Int,
         recurrentInputs: Int? = nil, initialization: RecurrentInitialization, layout: inout ParameterLayout) {
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        let inits = initialization.initializers(hiddenSize: hiddenSize, gates: gates, forgetGate: forgetGate)
        let g = gates * hiddenSize
        inputWeight = layout.add(names.weightIH, rows: g, cols: inputSize, initializer: inits.inputWeight)
        recurrentWeight = layout.add(names.weightHH, rows: g, cols: recurrentInputs ?? hiddenSize,
                                     initializer: inits.recurrentWeight)
        inputBias = layout.add(names.biasIH, rows: g, initializer: inits.inputBias)
        recurrentBias = layout.add(names.biasHH, rows: g, initializer: inits.recurrentBias)
    }
}

/// How a recurrent cell's parameters start.
public enum RecurrentInitialization: String, Sendable, CaseIterable {
    /// PyTorch's default: every weight and bias U(±1/√H).
    case pytorch
    /// Glorot-uniform input weights, orthogonal recurrent weights (per gate block), zero biases
    /// except a forget-gate bias of 1 in `bias_ih` (Jozefowicz et al. 2015), as Keras does.
    case glorotOrthogonal = "glorot-orthogonal"

    /// W_hr's: U(±1/√H) as PyTorch, or Glorot-uniform.
    func outputProjectionInitializer(hiddenSize: Int) -> Initializer {
        switch self {
        case .pytorch:
            let b = 1 / Float(hiddenSize).squareRoot()
            return .uniform(low: -b, high: b)
        case .glorotOrthogonal:
            return .xavierUniform(gain: 1)
        }
    }

    struct Initializers {
        let inputWeight, recurrentWeight, inputBias, recurrentBias: Initializer
    }

    /// - Parameter forgetGate: the index of the forget gate's block, if the cell has one.
    func initializers(hiddenSize: Int, gates: Int, forgetGate: Int?) -> Initializers {
        switch self {
        case .pytorch:
            let b = 1 / Float(hiddenSize).squareRoot()
            let u = Initializer.uniform(low: -b, high: b)
            return Initializers(inputWeight: u, recurrentWeight: u, inputBias: u, recurrentBias: u)
        case .glorotOrthogonal:
            let inputBias: Initializer = forgetGate.map { .blocks(count: gates, one: $0) } ?? .zeros
            return Initializers(inputWeight: .xavierUniform(gain: 1), recurrentWeight: .blockOrthogonal(blocks: gates),
                                inputBias: inputBias, recurrentBias: .zeros)
        }
    }
}
