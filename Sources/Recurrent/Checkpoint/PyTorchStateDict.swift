import Foundation

/// One nn.LSTM, nn.GRU or nn.RNN found in a PyTorch state dict by its tensor names:
/// `{prefix}.weight_ih_l{k}[_reverse]`, `weight_hh_…`, and `bias_ih_…`, `bias_hh_…` unless it
/// was built with `bias=False`.
public struct PyTorchRecurrentModule: Sendable, Equatable {
    /// The module's path in the state dict ("encoder.lstm"; "" for a bare module's state dict).
    public let prefix: String
    /// lstm (4 gate blocks), gru (3) or rnn_tanh (1). A state dict does not record nn.RNN's
    /// nonlinearity: pass `.rnnRelu` to `stack(_:kind:)` for `nonlinearity='relu'`.
    public let kind: CellKind
    public let inputSize: Int      // D
    public let hiddenSize: Int     // H
    public let layers: Int         // L
    public let bidirectional: Bool
    /// False for `bias=False`: the biases load as zeros, which computes the same function.
    public let hasBias: Bool
    /// An nn.LSTM's proj_size (its `weight_hr_l{k}` rows); nil for none.
    public var projectedSize: Int? = nil

    /// "nn.LSTM 'encoder': 2 layers, bidirectional, input 5, hidden 6".
    public var summary: String {
        let type = kind == .lstm ? "nn.LSTM" : kind == .gru ? "nn.GRU" : "nn.RNN"
        return "\(type)\(prefix.isEmpty ? "" : " '\(prefix)'"): \(layers) layer\(layers == 1 ? "" : "s")\(bidirectional ? ", bidirectional" : ""), "
            + "input \(inputSize), hidden \(hiddenSize)\(projectedSize.map { ", projections \($0)" } ?? "")"
            + (hasBias ? "" : ", no bias")
    }
}

/// A PyTorch state dict saved with safetensors (`safetensors.torch.save_file(model.state_dict(), path)`),
/// read by name: its recurrent modules, embeddings (`X.weight` (V, E), no `X.bias`) and linear
/// layers (`X.weight` (N, K) with `X.bias` (N)). Any layer count, either direction, any prefix.
public struct PyTorchStateDict: Sendable {
    /// A 2-D `X.weight` outside the recurrent modules: an embedding when it has no `X.bias`,
    /// a linear layer when it has one.
    public struct Matrix2D: Sendable, Equatable {
        /// The module's path: "X" for tensors `X.weight` (and `X.bias`).
        public let prefix: String
        public let rows: Int
        public let cols: Int
        public let hasBias: Bool
        package init(prefix: String, rows: Int, cols: Int, hasBias: Bool) {
            self.prefix = prefix
            self.rows = rows
            self.cols = cols
            self.hasBias = hasBias
        }
        package var weightName: String { prefix.isEmpty ? "weight" : prefix + ".weight" }
        package var biasName: String { prefix.isEmpty ? "bias" : prefix + ".bias" }
    }

    public let file: SafetensorsFile
    /// In the order of their first tensor in the file.
    public let recurrentModules: [PyTorchRecurrentModule]
    /// Two-dimensional `X.weight` tensors that are not part of a recurrent module.
    public let matrices: [Matrix2D]

    /// Finds the modules in `file`.
    /// - Throws: `RecurrentError.invalidFile` for a recurrent module whose tensors are missing,
    ///   misshapen or inconsistent (naming the tensor).
    public init(_ file: SafetensorsFile) throws {
        self.file = file
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: file.path, reason: reason) }
        // Recurrent tensors: {prefix}{weight|bias}_{ih|hh}_l{k}{_reverse}.
        var prefixes: [String] = []
        var recurrentNames = Set<String>()
        for t in file.tensors {
            guard let parsed = Self.parseRecurrentName(t.name) else { continue }
            recurrentNames.insert(t.name)
            if !prefixes.contains(parsed.prefix) { prefixes.append(parsed.prefix) }
        }
        recurrentModules = try prefixes.map { try Self.module(prefix: $0, file: file) }
        var matrices: [Matrix2D] = []
        for t in file.tensors where !recurrentNames.contains(t.name) && t.shape.count == 2 && t.dtype.isFloatingPoint {
            guard t.name == "weight" || t.name.hasSuffix(".weight") else { continue }
            let prefix = String(t.name.dropLast("weight".count)).trimmingSuffix(".")
            let biasName = prefix.isEmpty ? "bias" : prefix + ".bias"
            let bias = file[biasName]
            let hasBias = bias.map { $0.shape == [t.shape[0]] && $0.dtype.isFloatingPoint } ?? false
            matrices.append(Matrix2D(prefix: prefix, rows: t.shape[0], cols: t.shape[1], hasBias: hasBias))
        }
        self.matrices = matrices
    }

    /// Splits "enc.lstm.weight_ih_l1_reverse" into ("enc.lstm", "weight_ih", 1, true).
    package static func parseRecurrentName(_ name: String) -> (prefix: String, kind: String, layer: Int, reverse: Bool)? {
        var rest = Substring(name)
        let reverse = rest.hasSuffix("_reverse")
        if reverse { rest = rest.dropLast("_reverse".count) }
        guard let l = rest.range(of: "_l", options: .backwards) else { return nil }
        let digits = rest[l.upperBound...]
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let layer = Int(digits) else { return nil }
        let head = rest[..<l.lowerBound]
        for kind in ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"] where head.hasSuffix(kind) {
            let before = head.dropLast(kind.count)
            guard before.isEmpty || before.hasSuffix(".") else { return nil }
            return (String(before.dropLast(before.isEmpty ? 0 : 1)), kind, layer, reverse)
        }
        return nil
    }

    /// Reads and checks one recurrent module's shapes.
    static func module(prefix: String, file: SafetensorsFile) throws -> PyTorchRecurrentModule {
        let shown = prefix.isEmpty ? "the state dict's recurrent module" : "recurrent module '\(prefix)'"
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: file.path, reason: "\(shown): \(reason)") }
        var layerCount = 0
        var reverse = false
        var anyBias = false
        for t in file.tensors {
            guard let p = parseRecurrentName(t.name), p.prefix == prefix else { continue }
            layerCount = max(layerCount, p.layer + 1)
            reverse = reverse || p.reverse
            anyBias = anyBias || p.kind.hasPrefix("bias")
            guard t.dtype.isFloatingPoint else { throw bad("tensor '\(t.name)' has dtype \(t.dtype.rawValue), expected a float type") }
        }
        let directions = reverse ? 2 : 1
        guard layerCount <= file.tensors.count else { throw bad("layer index \(layerCount - 1) but only \(file.tensors.count) tensors") }
        guard let hh0 = file[RecurrentParameterNames(prefix: prefix, layer: 0, suffix: "").weightHH],
              let ih0 = file[RecurrentParameterNames(prefix: prefix, layer: 0, suffix: "").weightIH] else {
            throw bad("no weight_ih_l0 and weight_hh_l0")
        }
        // An nn.LSTM with proj_size has weight_hr_l0 (P, H) and weight_hh_l0 (4H, P).
        let hr0 = file[RecurrentParameterNames(prefix: prefix, layer: 0, suffix: "").weightHR]
        let projected = hr0.map { $0.shape.first ?? 0 }
        if let hr0 {
            guard hr0.shape.count == 2, hr0.shape[0] >= 1, hr0.shape[0] < hr0.shape[1],
                  hh0.shape == [4 * hr0.shape[1], hr0.shape[0]] else {
                throw bad("weight_hr_l0 has shape \(hr0.shape) with weight_hh_l0 \(hh0.shape), expected (P, H) and (4H, P), P < H")
            }
        } else {
            guard hh0.shape.count == 2, hh0.shape[1] >= 1, hh0.shape[0] % hh0.shape[1] == 0,
                  [1, 3, 4].contains(hh0.shape[0] / hh0.shape[1]) else {
                throw bad("weight_hh_l0 has shape \(hh0.shape), expected (G·H, H) with G = 4 (LSTM), 3 (GRU) or 1 (RNN)")
            }
        }
        let h = hr0?.shape[1] ?? hh0.shape[1], gates = hh0.shape[0] / h
        let width = projected ?? h
        guard ih0.shape.count == 2, ih0.shape[0] == gates * h, ih0.shape[1] >= 1 else {
            throw bad("weight_ih_l0 has shape \(ih0.shape), expected (\(gates * h), D)")
        }
        let kind: CellKind = gates == 4 ? .lstm : gates == 3 ? .gru : .rnnTanh
        for l in 0..<layerCount {
            for d in 0..<directions {
                let names = RecurrentParameterNames(prefix: prefix, layer: l, suffix: d == 1 ? "_reverse" : "")
                let input = l == 0 ? ih0.shape[1] : directions * width
                for (name, shape) in [(names.weightIH, [gates * h, input]), (names.weightHH, [gates * h, width])]
                    + (anyBias ? [(names.biasIH, [gates * h]), (names.biasHH, [gates * h])] : [])
                    + (projected.map { [(names.weightHR, [$0, h])] } ?? []) {
                    guard let t = file[name] else { throw bad("missing tensor '\(name)'") }
                    guard t.shape == shape else { throw bad("tensor '\(name)' has shape \(t.shape), expected \(shape)") }
                }
            }
        }
        return PyTorchRecurrentModule(prefix: prefix, kind: kind, inputSize: ih0.shape[1], hiddenSize: h, layers: layerCount,
                                      bidirectional: reverse, hasBias: anyBias, projectedSize: projected)
    }

    /// The recurrent module at `prefix`.
    /// - Throws: `RecurrentError.invalidArgument` listing the modules there are.
    public func recurrentModule(_ prefix: String) throws -> PyTorchRecurrentModule {
        guard let m = recurrentModules.first(where: { $0.prefix == prefix }) else {
            throw RecurrentError.invalidArgument(name: "recurrent module", value: prefix, expected: moduleList())
        }
        return m
    }

    func moduleList() -> String {
        recurrentModules.isEmpty ? "a state dict with weight_ih_l0 tensors; \(file.path) has none"
            : "one of " + recurrentModules.map { "'\($0.prefix)'" }.joined(separator: ", ")
    }

    /// Copies tensor `name` (any float dtype, converted to Float32) into `destination`.
    /// - Throws: `RecurrentError.invalidFile` for a non-finite value.
    package func load(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let values = try file.floats(name)
        guard values.count == count else {
            throw RecurrentError.invalidFile(path: file.path, reason: "tensor '\(name)' has \(values.count) values, expected \(count)")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw RecurrentError.invalidFile(path: file.path, reason: "tensor '\(name)' holds \(values[i]) at index \(i); weights must be finite")
        }
        values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: count) }
    }

    /// Loads a recurrent module into `arena`, whose stack was registered under `targetPrefix`
    /// with the module's sizes: each tensor by name, biases zero when the module has none.
    package func loadRecurrent(_ m: PyTorchRecurrentModule, targetPrefix: String, arena: ParameterArena) throws {
        for l in 0..<m.layers {
            for suffix in m.bidirectional ? ["", "_reverse"] : [""] {
                let from = RecurrentParameterNames(prefix: m.prefix, layer: l, suffix: suffix)
                let to = RecurrentParameterNames(prefix: targetPrefix, layer: l, suffix: suffix)
                for (source, target) in [(from.weightIH, to.weightIH), (from.weightHH, to.weightHH),
                                         (from.biasIH, to.biasIH), (from.biasHH, to.biasHH), (from.weightHR, to.weightHR)] {
                    guard let p = arena[target] else { continue }
                    if m.hasBias || !source.contains("bias_") {
                        try load(source, into: arena.value(p), count: p.count)
                    } else {
                        arena.value(p).update(repeating: 0, count: p.count)
                    }
                }
            }
        }
    }

    /// A `RecurrentStack` holding the module's weights, its parameters under the module's own
    /// names, ready for `forward` (batch first, as with `batch_first=True`).
    /// - Parameter kind: nil for the cell the shapes say (an nn.RNN loads as tanh); `.rnnRelu`
    ///   for an nn.RNN built with `nonlinearity='relu'`.
    /// - Throws: `RecurrentError.invalidArgument` for a kind the shapes rule out,
    ///   `RecurrentError.invalidFile` for non-finite weights.
    public func stack(_ m: PyTorchRecurrentModule, kind: CellKind? = nil) throws -> (stack: RecurrentStack, arena: ParameterArena) {
        let kind = kind ?? m.kind
        let compatible = kind == m.kind || (m.kind == .rnnTanh && kind == .rnnRelu)
        try require(compatible, .invalidArgument(name: "cell for \(m.summary)", value: kind.rawValue,
                                                 expected: m.kind == .rnnTanh ? "rnn_tanh or rnn_relu" : m.kind.rawValue))
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: kind, inputSize: m.inputSize, hiddenSize: m.hiddenSize, projectedSize: m.projectedSize,
                                       layers: m.layers, bidirectional: m.bidirectional, prefix: m.prefix, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 0)
        try loadRecurrent(m, targetPrefix: m.prefix, arena: arena)
        return (stack, arena)
    }
}

extension String {
    /// The string without one trailing `suffix`, if it has it.
    package func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
