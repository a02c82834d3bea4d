import Foundation
import Recurrent

/// Which modules of a PyTorch state dict make the character model, when the names alone do not
/// say: each a module path ("encoder", "model.rnn"), nil to find it by shape.
public struct CharModelImportOptions: Sendable {
    /// The nn.Embedding (V, E).
    public var embedding: String?
    /// The nn.LSTM / nn.GRU / nn.RNN.
    public var recurrent: String?
    /// The nn.Linear (V, H).
    public var head: String?
    /// nil: the cell the shapes say; `.rnnRelu` for an nn.RNN with `nonlinearity='relu'`.
    public var cell: CellKind?

    public init(embedding: String? = nil, recurrent: String? = nil, head: String? = nil, cell: CellKind? = nil) {
        self.embedding = embedding
        self.recurrent = recurrent
        self.head = head
        self.cell = cell
    }
}

extension CharLanguageModel {
    /// A character model from any PyTorch state dict holding an Embedding(V, E), a unidirectional
    /// nn.LSTM / nn.GRU / nn.RNN(E, H, L) and a Linear(H, V) — with E = H the two may share one
    /// weight, saved under either name — found by name and shape: the inverse of loading our
    /// checkpoint into PyTorch, value for value.
    /// - Parameters:
    ///   - vocabulary: the V characters in row order; nil to take them from the file's `config`
    ///     metadata (a state dict saved from our checkpoint keeps it only if the saver passed it on).
    /// - Throws: `RecurrentError.invalidFile` or `.invalidArgument` saying which module is
    ///   missing, ambiguous (listing the candidates and the option that picks one) or misshapen.
    public convenience init(importing dict: PyTorchStateDict, vocabulary: Vocabulary?,
                            options: CharModelImportOptions = CharModelImportOptions()) throws {
        let path = dict.file.path
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: path, reason: reason) }
        func strip(_ name: String) -> String { name.trimmingSuffix(".weight").trimmingSuffix(".bias") }

        // The recurrent module: named, or the only one.
        let rnn: PyTorchRecurrentModule
        if let name = options.recurrent {
            rnn = try dict.recurrentModule(strip(name))
        } else {
            guard dict.recurrentModules.count == 1 else {
                throw dict.recurrentModules.isEmpty
                    ? bad("no recurrent module (no tensor named like 'rnn.weight_ih_l0'): not a PyTorch RNN state dict")
                    : bad("\(dict.recurrentModules.count) recurrent modules (\(dict.recurrentModules.map { "'\($0.prefix)'" }.joined(separator: ", "))); "
                          + "pick one with --rnn")
            }
            rnn = dict.recurrentModules[0]
        }
        guard !rnn.bidirectional else {
            throw bad("\(rnn.summary) is bidirectional; a character model reads left to right "
                      + "(load it with PyTorchStateDict.stack for other uses)")
        }

        // The embedding (V, E = the RNN's input size) and the head (V, H), by name or by shape.
        func pick(_ what: String, option: String, named: String?, _ fits: (PyTorchStateDict.Matrix2D) -> Bool,
                  expected: String) throws -> PyTorchStateDict.Matrix2D {
            if let named {
                guard let m = dict.matrices.first(where: { $0.prefix == strip(named) }) else {
                    throw bad("no 2-D tensor '\(strip(named)).weight' for the \(what)")
                }
                guard fits(m) else { throw bad("'\(m.weightName)' has shape [\(m.rows), \(m.cols)], expected \(expected) for the \(what)") }
                return m
            }
            let candidates = dict.matrices.filter(fits)
            guard candidates.count == 1 else {
                throw bad(candidates.isEmpty ? "no \(what): expected a 2-D '….weight' of shape \(expected)"
                          : "\(candidates.count) tensors could be the \(what) (\(candidates.map { "'\($0.weightName)'" }.joined(separator: ", "))); pick one with \(option)")
            }
            return candidates[0]
        }
        let width = rnn.projectedSize ?? rnn.hiddenSize   // h's width, what the head reads
        // Weights tied between embedding and head (PyTorch's word_language_model --tied) are
        // saved once: `safetensors.torch.save_model` keeps the head's name, `X.weight` (V, H) with
        // `X.bias`, and no embedding — then that one Linear (E = H) is both.
        let embeddingFits = { (m: PyTorchStateDict.Matrix2D) in m.cols == rnn.inputSize && (options.embedding != nil || !m.hasBias) }
        let linearsOnly = dict.matrices.filter { $0.cols == rnn.inputSize && $0.hasBias }
        let tiedToHead = options.embedding == nil && options.head == nil && rnn.inputSize == width
            && !dict.matrices.contains(where: embeddingFits) && linearsOnly.count == 1
        let embedding = tiedToHead
            ? linearsOnly[0]
            : try pick("embedding", option: "--embedding", named: options.embedding, embeddingFits, expected: "[V, \(rnn.inputSize)]")
        let v = embedding.rows
        // The head: its own (V, H) weight, or — tied, the shared tensor kept under the
        // embedding's name — the embedding's (E = H) with a lone `X.bias` (V) whose `X.weight`
        // is not in the file.
        let headFits = { (m: PyTorchStateDict.Matrix2D) in m.rows == v && m.cols == width && m.prefix != embedding.prefix }
        let tiedBias = dict.file.tensors.filter { t in
            t.shape == [v] && t.dtype.isFloatingPoint && (t.name == "bias" || t.name.hasSuffix(".bias"))
                && dict.file[String(t.name.dropLast("bias".count)) + "weight"] == nil
                && PyTorchStateDict.parseRecurrentName(t.name) == nil
        }
        let tied = options.head == nil && rnn.inputSize == width && !dict.matrices.contains(where: headFits)
            && tiedBias.count == 1
        let head: PyTorchStateDict.Matrix2D = tiedToHead ? embedding
            : tied ? PyTorchStateDict.Matrix2D(prefix: embedding.prefix, rows: v, cols: width, hasBias: false)
            : try pick("output layer", option: "--head", named: options.head, headFits, expected: "[\(v), \(width)]")

        // The characters behind the V rows.
        let symbols: Vocabulary
        if let vocabulary {
            symbols = vocabulary
        } else if let json = dict.file.metadata["config"] {
            symbols = try CharModelConfiguration(json: json, path: path).vocabulary
        } else {
            throw RecurrentError.invalidArgument(name: "vocabulary", value: "none",
                                                 expected: "the \(v) characters behind the embedding's rows: give the training text "
                                                 + "or a checkpoint with --vocab-from (the state dict has no config metadata)")
        }
        guard symbols.count == v else {
            throw RecurrentError.invalidArgument(name: "vocabulary", value: "\(symbols.count) characters",
                                                 expected: "\(v), the embedding's rows in '\(embedding.weightName)'")
        }

        let kind = options.cell ?? rnn.kind
        guard kind == rnn.kind || (rnn.kind == .rnnTanh && kind == .rnnRelu) else {
            throw RecurrentError.invalidArgument(name: "cell for \(rnn.summary)", value: kind.rawValue,
                                                 expected: rnn.kind == .rnnTanh ? "rnn_tanh or rnn_relu" : rnn.kind.rawValue)
        }
        let configuration = CharModelConfiguration(cell: kind, vocabulary: symbols, embeddingSize: rnn.inputSize,
                                                   hiddenSize: rnn.hiddenSize, layers: rnn.layers, projectedSize: rnn.projectedSize)
        try self.init(configuration: configuration, dropout: 0, seed: 0) { _ in }
        let arena = self.arena
        func load(_ source: String, into target: String) throws {
            let p = arena[target]!
            try dict.load(source, into: arena.value(p), count: p.count)
        }
        try load(embedding.weightName, into: "embedding.weight")
        try dict.loadRecurrent(rnn, targetPrefix: "rnn", arena: arena)
        try load(head.weightName, into: "head.weight")
        if tied {
            try load(tiedBias[0].name, into: "head.bias")
        } else if head.hasBias {
            try load(head.biasName, into: "head.bias")
        } else {
            arena.value(arena["head.bias"]!).update(repeating: 0, count: v)
        }
    }

    /// The checkpoint bytes `rnn train` would write for these weights: the contract tensors and
    /// the config, nothing else.
    public func checkpointData() -> Data {
        checkpoint()
    }
}

extension Vocabulary {
    /// The characters of a model: a checkpoint's `config` vocabulary when `path` is a
    /// safetensors file with one, else the distinct characters of the text in `path`, sorted as
    /// `rnn train` sorts them.
    /// - Throws: `RecurrentError` when the file cannot be read, is a safetensors file without a
    ///   config, or is not UTF-8 text.
    public init(source path: String) throws {
        if let file = try? SafetensorsFile(contentsOf: path) {
            guard let json = file.metadata["config"] else {
                throw RecurrentError.invalidFile(path: path, reason: "a safetensors file without \"config\" metadata has no vocabulary; "
                                                 + "give the training text or a checkpoint written by rnn train")
            }
            self = try CharModelConfiguration(json: json, path: path).vocabulary
        } else {
            self.init(text: try TextFile.read(path))
        }
    }
}
