import CRecurrentKernels

/// The vanilla (Elman) cell of the lecture: h_t = φ(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh),
/// with φ = tanh or relu, as PyTorch's nn.RNN.
///
/// Parameters, PyTorch's names and layout: `weight_ih_l{k}` (H, D), `weight_hh_l{k}` (H, H),
/// `bias_ih_l{k}` (H), `bias_hh_l{k}` (H). State and output are both h (S = H).
public struct RNNCell: RecurrentCell {
    public enum Nonlinearity: String, Sendable, CaseIterable { case tanh, relu }

    public let inputSize: Int
    public let hiddenSize: Int
    public let nonlinearity: Nonlinearity
    public let inputWeight: Parameter
    public let inputBias: Parameter?
    public let recurrentWeight: Parameter
    public let recurrentBias: Parameter

    public var outputSize: Int { hiddenSize }
    public var stateSize: Int { hiddenSize }
    public var projectionSize: Int { hiddenSize }
    public var cacheSize: Int { 0 }
    public var scratchSize: Int { 0 }

    /// Registers `prefix.weight_ih_l{layer}{suffix}` and the rest; PyTorch's default U(±1/√H) for all.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, nonlinearity: Nonlinearity = .tanh,
                layer: Int = 0, suffix: String = "", initialization: RecurrentInitialization = .pytorch,
                layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.nonlinearity = nonlinearity
        let p = GateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 1, inputSize: inputSize,
                               hiddenSize: hiddenSize, initialization: initialization, layout: &layout)
        (inputWeight, recurrentWeight, inputBias, recurrentBias) = (p.inputWeight, p.recurrentWeight, p.inputBias, p.recurrentBias)
    }

    /// W_hh added onto the projection: a = p + h_{t−1}·W_hhᵀ; b_hh is added by the step.
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: recurrentBias, product: .added) }

    /// The element-wise step forward (see `RecurrentCell`): h = φ(a + b_hh), a = p + q.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        rk_rnn_forward(batch, h, nonlinearity == .relu ? 1 : 0, a, lda, arena.value(recurrentBias), state, h, output, ldy)
    }

    /// One gate: each unit steps alone (see `RecurrentCell.unitGates`).
    public var unitGates: Int? { 1 }

    /// The step of `units` on gathered blocks (see `RecurrentCell.forward(units:…)`), the same
    /// kernel as `forward` with U for H.
    public func forward(units: Range<Int>, gates a: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>?,
                        bias: UnsafePointer<Float>?, previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, batch: Int) {
        let (u, j) = (units.count, units.lowerBound)
        rk_rnn_forward(batch, u, nonlinearity == .relu ? 1 : 0, a, u, bias!, state + j, hiddenSize, output + j, ldy)
    }

    /// The element-wise step backward (see `RecurrentCell`): ∂a = (∂y_t + ∂h_t)·φ'(a), with φ' read
    /// off h (tanh' = 1 − h², relu' = [h > 0]); h_{t−1} reaches the loss only through W_hh.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let h = hiddenSize
        rk_rnn_backward(batch, h, nonlinearity == .relu ? 1 : 0, da, lda, state, h, dy, ldy, ds, h)
        ds.update(repeating: 0, count: batch * h)
    }

    /// φ(a) (H), named after φ: the cell's only activation, which is h_t itself.
    public var gates: [CellGate] {
        [CellGate(nonlinearity.rawValue, nonlinearity == .relu ? .relu : .tanh, width: hiddenSize)]
    }

    /// h_t = φ(a), from the state.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        gates.update(from: state, count: hiddenSize)
    }
}

extension RNNCell {
    /// `rnn_tanh` (also `rnn`, `tanh`): PyTorch's nn.RNN cell, the lecture's vanilla RNN.
    public static let tanhRegistration = CellRegistration(name: "rnn_tanh", aliases: ["rnn", "tanh"], displayName: "rnn") {
        s, layout in
        RNNCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, nonlinearity: .tanh, layer: s.layer,
                suffix: s.suffix, initialization: s.initialization, layout: &layout)
    }
    /// `rnn_relu` (also `relu`): nn.RNN with `nonlinearity='relu'`.
    public static let reluRegistration = CellRegistration(name: "rnn_relu", aliases: ["relu"]) { s, layout in
        RNNCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, nonlinearity: .relu, layer: s.layer,
                suffix: s.suffix, initialization: s.initialization, layout: &layout)
    }
}
