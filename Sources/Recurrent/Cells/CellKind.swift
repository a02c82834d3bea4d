import Foundation

/// The recurrent cells a stack can be built from, named as PyTorch's checkpoint config names them.
public enum CellKind: String, CaseIterable, Sendable {
    case rnnTanh = "rnn_tanh"
    case rnnRelu = "rnn_relu"
    case lstm
    case gru

    /// Parses a cell name: lstm, gru, rnn (tanh), rnn_tanh, rnn_relu (also with '-').
    /// - Throws: `RecurrentError.invalidArgument` naming the accepted names.
    public init(parsing name: String) throws {
        switch name.lowercased().replacingOccurrences(of: "-", with: "_") {
        case "lstm": self = .lstm
        case "gru": self = .gru
        case "rnn", "tanh", "rnn_tanh": self = .rnnTanh
        case "relu", "rnn_relu": self = .rnnRelu
        default:
            throw RecurrentError.invalidArgument(name: "cell", value: name,
                                                 expected: "one of lstm, gru, rnn (rnn_tanh), rnn_relu")
        }
    }

    /// Short name for tables: lstm, gru, rnn, rnn_relu.
    public var displayName: String { self == .rnnTanh ? "rnn" : rawValue }

    /// Makes one cell of this kind and registers its parameters under PyTorch's names.
    public func makeCell(prefix: String, inputSize: Int, hiddenSize: Int, layer: Int, suffix: String,
                         initialization: RecurrentInitialization, layout: inout ParameterLayout) -> any RecurrentCell {
        switch self {
        case .lstm:
            return LSTMCell(prefix, inputSize: inputSize, hiddenSize: hiddenSize, layer: layer, suffix: suffix,
                            initialization: initialization, layout: &layout)
        case .gru:
            return GRUCell(prefix, inputSize: inputSize, hiddenSize: hiddenSize, layer: layer, suffix: suffix,
                           initialization: initialization, layout: &layout)
        case .rnnTanh, .rnnRelu:
            return RNNCell(prefix, inputSize: inputSize, hiddenSize: hiddenSize, nonlinearity: self == .rnnTanh ? .tanh : .relu,
                           layer: layer, suffix: suffix, initialization: initialization, layout: &layout)
        }
    }
}
