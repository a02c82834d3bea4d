import Foundation

/// A kind of recurrent cell, by the name a checkpoint's config gives it (PyTorch's names for
/// the cells PyTorch has). The kinds are the registered cells, `CellKind.registered`: adding a
/// cell is its file, with its `CellRegistration`, and one line in that list.
public struct CellKind: RawRepresentable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    public let rawValue: String

    /// The kind registered under `rawValue`; nil for a name no cell has.
    public init?(rawValue: String) {
        guard Self.registered.contains(where: { $0.name == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    private init(registered name: String) { rawValue = name }

    public static let lstm = CellKind(registered: "lstm")
    public static let gru = CellKind(registered: "gru")
    public static let rnnTanh = CellKind(registered: "rnn_tanh")
    public static let rnnRelu = CellKind(registered: "rnn_relu")
    public static let mingru = CellKind(registered: "mingru")
    public static let minlstm = CellKind(registered: "minlstm")
    public static let lnlstm = CellKind(registered: "lnlstm")
    public static let lngru = CellKind(registered: "lngru")

    /// The cells a stack can be built from, in the order help texts list them. A new cell's
    /// registration goes here.
    public static let registered: [CellRegistration] = [
        LSTMCell.registration,
        GRUCell.registration,
        RNNCell.tanhRegistration,
        RNNCell.reluRegistration,
        MinGRUCell.registration,
        MinLSTMCell.registration,
        LayerNormLSTMCell.registration,
        LayerNormGRUCell.registration,
    ]

    public static var allCases: [CellKind] { registered.map { CellKind(registered: $0.name) } }

    /// This kind's registration.
    public var registration: CellRegistration { Self.registered.first { $0.name == rawValue }! }

    /// Parses a cell name or alias, ignoring case, '-' for '_': lstm, gru, rnn (tanh), rnn_tanh,
    /// rnn_relu, and every registered cell's name.
    /// - Throws: `RecurrentError.invalidArgument` naming the accepted names.
    public init(parsing name: String) throws {
        let key = name.lowercased().replacingOccurrences(of: "-", with: "_")
        guard let r = Self.registered.first(where: { $0.name == key || $0.aliases.contains(key) }) else {
            let names = Self.registered.map { $0.displayName == $0.name ? $0.name : "\($0.displayName) (\($0.name))" }
            throw RecurrentError.invalidArgument(name: "cell", value: name,
                                                 expected: "one of " + names.joined(separator: ", "))
        }
        rawValue = r.name
    }

    /// Short name for tables: lstm, gru, rnn, rnn_relu, ...
    public var displayName: String { registration.displayName }
    public var description: String { rawValue }

    /// Makes one cell of this kind and registers its parameters under PyTorch's names.
    /// - Parameter projectedSize: the output's width with projections (a kind whose registration
    ///   `projects`); nil for none.
    public func makeCell(prefix: String, inputSize: Int, hiddenSize: Int, projectedSize: Int? = nil, layer: Int, suffix: String,
                         initialization: RecurrentInitialization, layout: inout ParameterLayout) -> any RecurrentCell {
        precondition(projectedSize == nil || registration.projects, "\(rawValue) has no output projection")
        return registration.make(CellShape(prefix: prefix, inputSize: inputSize, hiddenSize: hiddenSize,
                                           projectedSize: projectedSize, layer: layer, suffix: suffix,
                                           initialization: initialization), &layout)
    }

    /// Whether this kind can project its output (`--proj-size`): LSTM.
    public var projects: Bool { registration.projects }
}

/// Where one cell of a stack sits and how large it is: what a registration builds a cell from.
public struct CellShape: Sendable {
    /// The module's name in parameter names ("rnn" → `rnn.weight_ih_l0`).
    public let prefix: String
    public let inputSize: Int
    public let hiddenSize: Int
    /// The output's width when it is projected (LSTM's proj_size); nil for none.
    public let projectedSize: Int?
    public let layer: Int
    /// "" or "_reverse" (the backward direction of a bidirectional layer).
    public let suffix: String
    public let initialization: RecurrentInitialization
}

/// A cell kind as the package knows it: its names and how to build one.
public struct CellRegistration: Sendable {
    /// The name in checkpoints and configs.
    public let name: String
    /// Further names a user may type.
    public let aliases: [String]
    /// The short name for tables and charts.
    public let displayName: String
    /// Whether the cell honours `CellShape.projectedSize`.
    public let projects: Bool
    /// Builds one cell, registering its parameters in the layout.
    public let make: @Sendable (CellShape, inout ParameterLayout) -> any RecurrentCell

    /// A registration; `displayName` defaults to `name`.
    public init(name: String, aliases: [String] = [], displayName: String? = nil, projects: Bool = false,
                make: @escaping @Sendable (CellShape, inout ParameterLayout) -> any RecurrentCell) {
        self.name = name
        self.projects = projects
        self.aliases = aliases
        self.displayName = displayName ?? name
        self.make = make
    }
}
