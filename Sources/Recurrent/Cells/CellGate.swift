/// One named block of a cell's per-step activations, as `RecurrentCell.gateActivations` writes
/// them: an LSTM's input gate i, a GRU's update gate z, a vanilla RNN's tanh. What a user looks
/// at to see inside the network (Karpathy, Johnson & Fei-Fei 2015, "Visualizing and
/// Understanding Recurrent Networks": how often each gate is saturated).
public struct CellGate: Sendable, Equatable {
    /// The function that made the values, which bounds them.
    public enum Activation: String, Sendable, CaseIterable {
        /// σ, in (0, 1): a gate proper, which can saturate near 0 or 1.
        case sigmoid
        /// tanh, in (−1, 1).
        case tanh
        /// max(0, ·).
        case relu
        /// No squashing: a cell state c_t, or minGRU's candidate g(·).
        case identity
    }

    /// The gate's short name, as the cell's documentation writes it: "i", "f", "g", "o", "c", "r", "z", "n".
    public let name: String
    public let activation: Activation
    /// Values per batch row: the cell's hidden size H.
    public let width: Int

    /// A gate `name` of `width` values made by `activation`.
    public init(_ name: String, _ activation: Activation, width: Int) {
        self.name = name
        self.activation = activation
        self.width = width
    }
}

extension CellGate {
    /// i, f, g, o and the cell state c, H values each: what the LSTM and the layer-normalised
    /// LSTM show.
    static func lstm(hiddenSize h: Int) -> [CellGate] {
        [CellGate("i", .sigmoid, width: h), CellGate("f", .sigmoid, width: h), CellGate("g", .tanh, width: h),
         CellGate("o", .sigmoid, width: h), CellGate("c", .identity, width: h)]
    }

    /// r, z, n, H values each: what the GRU and the layer-normalised GRU show.
    static func gru(hiddenSize h: Int) -> [CellGate] {
        [CellGate("r", .sigmoid, width: h), CellGate("z", .sigmoid, width: h), CellGate("n", .tanh, width: h)]
    }
}
