import Foundation
import Recurrent

/// The shape of a character model, as a checkpoint's `config` metadata records it:
/// `{"cell": "lstm", "vocab": [...], "embedding_size": E, "hidden_size": H, "num_layers": L}`,
/// with `"proj_size": P` after them for an LSTM with projections.
public struct CharModelConfiguration: Sendable, Equatable {
    public var cell: CellKind
    public var vocabulary: Vocabulary
    public var embeddingSize: Int
    public var hiddenSize: Int
    public var layers: Int
    /// An LSTM's projected output width (PyTorch's proj_size); nil for none.
    public var projectedSize: Int?

    public init(cell: CellKind, vocabulary: Vocabulary, embeddingSize: Int, hiddenSize: Int, layers: Int,
                projectedSize: Int? = nil) {
        self.cell = cell
        self.vocabulary = vocabulary
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.projectedSize = projectedSize
    }

    /// "2×128" or, with projections, "2×128→64": layers × hidden size.
    public var layerShape: String { Self.layerShape(layers: layers, hidden: hiddenSize, projected: projectedSize) }

    /// "L×H", or "L×H→P" with projections.
    package static func layerShape(layers: Int, hidden: Int, projected: Int?) -> String {
        "\(layers)×\(hidden)" + (projected.map { "→\($0)" } ?? "")
    }

    /// The config JSON, keys in the contract's order (the same bytes every time).
    public var json: String {
        let vocab = vocabulary.symbols.map(SafetensorsFile.jsonString).joined(separator: ", ")
        return "{\"cell\": \"\(cell.rawValue)\", \"vocab\": [\(vocab)], \"embedding_size\": \(embeddingSize), "
            + "\"hidden_size\": \(hiddenSize), \"num_layers\": \(layers)"
            + (projectedSize.map { ", \"proj_size\": \($0)" } ?? "") + "}"
    }

    /// Parses a config JSON.
    /// - Throws: `RecurrentError.invalidFile` naming the missing or bad field.
    public init(json: String, path: String) throws {
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: path, reason: "bad config metadata: \(reason)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let cellName = object["cell"] as? String else { throw bad("no \"cell\"") }
        guard let cell = try? CellKind(parsing: cellName), cellName == cell.rawValue || cellName == "rnn" else {
            throw bad("unknown cell '\(cellName)', expected one of " + CellKind.registered.map(\.name).joined(separator: ", "))
        }
        guard let vocab = object["vocab"] as? [String] else { throw bad("no \"vocab\" list of strings") }
        func positive(_ key: String) throws -> Int {
            guard let n = object[key] as? NSNumber, let v = Int(exactly: n.doubleValue), v >= 1, v <= 1 << 20 else {
                throw bad("\"\(key)\" must be a positive integer")
            }
            return v
        }
        do {
            self.init(cell: cell, vocabulary: try Vocabulary(symbols: vocab), embeddingSize: try positive("embedding_size"),
                      hiddenSize: try positive("hidden_size"), layers: try positive("num_layers"),
                      projectedSize: object["proj_size"] == nil ? nil : try positive("proj_size"))
        } catch let error as RecurrentError {
            if case .invalidFile = error { throw error }
            throw bad("\(error)")
        }
    }
}

/// A character-level language model: Embedding(V, E) → recurrent stack → Linear(H, V),
/// parameters named as PyTorch names a module with submodules `embedding`, `rnn`, `head`.
public final class CharLanguageModel: @unchecked Sendable {
    public let configuration: CharModelConfiguration
    public let model: SequenceModel
    public let arena: ParameterArena
    /// The names of the contract tensors, in PyTorch's state-dict order.
    public let contractNames: [String]

    /// A model with fresh weights drawn from `seed` (PyTorch's default initialisation).
    /// - Parameters:
    ///   - dropout: between stacked layers, in training only.
    ///   - outputDropout: on the top layer's output before the head, in training only (char-rnn's).
    ///   - weightDrop: DropConnect on every W_hh, in training only (`RecurrentStack.weightDrop`).
    public convenience init(configuration c: CharModelConfiguration, dropout: Float = 0, outputDropout: Float = 0,
                            weightDrop: Float = 0, seed: UInt64) throws {
        try self.init(configuration: c, dropout: dropout, outputDropout: outputDropout, weightDrop: weightDrop, seed: seed,
                      verify: { _ in })
    }

    /// `verify` sees the layout before any parameter memory is allocated: a checkpoint's
    /// tensors are checked against it first, so a small file cannot make us allocate a huge model.
    init(configuration c: CharModelConfiguration, dropout: Float, outputDropout: Float = 0, weightDrop: Float = 0,
         seed: UInt64, verify: (ParameterLayout) throws -> Void) throws {
        configuration = c
        var layout = ParameterLayout()
        model = try SequenceModel(input: .tokens(vocabulary: c.vocabulary.count, embedding: c.embeddingSize), kind: c.cell,
                                  hiddenSize: c.hiddenSize, projectedSize: c.projectedSize, layers: c.layers, dropout: dropout,
                                  outputDropout: outputDropout, weightDrop: weightDrop, outputs: c.vocabulary.count,
                                  layout: &layout)
        try verify(layout)
        arena = ParameterArena(layout: layout, seed: seed)
        contractNames = layout.parameters.map(\.name)
    }

    /// Loads the contract tensors and config of a checkpoint; further tensors are ignored.
    /// F32 tensors are used as they are; F16, BF16 and F64 are converted.
    /// - Throws: `RecurrentError.invalidFile` for a file that is not a character-model
    ///   checkpoint (a task model from rnn fit is named as one), whose config disagrees with its
    ///   tensors, or whose weights are not finite.
    public convenience init(checkpoint file: SafetensorsFile, dropout: Float = 0, outputDropout: Float = 0,
                            weightDrop: Float = 0) throws {
        if let task = file.metadata["task"] {
            let kind = (try? TaskSpecification(json: task, path: file.path)).map { "a \($0.kind.rawValue) model" } ?? "a task model"
            throw RecurrentError.invalidFile(path: file.path, reason: "\(kind) from rnn fit, not a character model: "
                                             + "use rnn predict or rnn evaluate")
        }
        guard let json = file.metadata["config"] else {
            throw RecurrentError.invalidFile(path: file.path, reason: "no \"config\" metadata: not a character-model checkpoint "
                                             + "(HINT: save it with metadata={\"config\": ...}, see the README)")
        }
        let c = try CharModelConfiguration(json: json, path: file.path)
        // Each layer has at least two tensors: refuse a layer count the file cannot hold before
        // building the layout (whose cost grows with it).
        guard c.layers <= file.tensors.count / 2 else {
            throw RecurrentError.invalidFile(path: file.path, reason: "the config says \(c.layers) layers, "
                                             + "but the file holds only \(file.tensors.count) tensors")
        }
        let checkpoint = Checkpoint(file)
        try self.init(configuration: c, dropout: dropout, outputDropout: outputDropout, weightDrop: weightDrop, seed: 0) { layout in
            try checkpoint.verify(layout, model: "for a \(c.layers)-layer \(c.cell.rawValue) model",
                                  needs: "the config (vocab \(c.vocabulary.count), embedding \(c.embeddingSize), hidden \(c.hiddenSize))")
        }
        try checkpoint.load(into: arena)
    }

    /// Reads a checkpoint file and loads it.
    public convenience init(contentsOf path: String) throws {
        try self.init(checkpoint: SafetensorsFile(contentsOf: path))
    }

    /// The contract tensors as safetensors entries (F32, PyTorch's shapes).
    public func contractEntries() -> [SafetensorsFile.Entry] { Checkpoint.entries(arena) }

    /// The bytes of a checkpoint of this model: its tensors and `config`, with `metadata` and
    /// the training-state tensors `state` when given.
    public func checkpoint(metadata: [String: String] = [:], state: [SafetensorsFile.Entry] = []) -> Data {
        Checkpoint.encode(arena, metadata: metadata.merging(["config": configuration.json]) { a, _ in a }, state: state)
    }

    // MARK: Scoring

    /// The mean negative log-likelihood of `ids` read as one stream from a zero state: each token
    /// predicted from all tokens before it (N − 1 predictions), in chunks of `chunk` steps.
    /// - Returns: total nats (NaN or infinite when finite weights overflow Float32 on this text;
    ///   the `precision:` form throws then) and the number of predictions.
    public func negativeLogLikelihood(_ ids: [Int32], chunk: Int = 256) -> (nats: Double, predictions: Int) {
        guard ids.count >= 2 else { return (0, 0) }
        let v = configuration.vocabulary.count
        let ws = SequenceModelWorkspace()
        var rng = SeededGenerator(seed: 0)
        var state = [Float](repeating: 0, count: model.stack.stateCount(batch: 1)), next = state
        var logits = [Float](repeating: 0, count: chunk * v)
        var total = 0.0
        var start = 0
        while start < ids.count - 1 {
            let t = min(chunk, ids.count - 1 - start)
            ids.withUnsafeBufferPointer { all in
                model.forward(tokens: all.baseAddress! + start, batch: 1, steps: t, initialState: state, output: &logits,
                              finalState: &next, rng: &rng, workspace: ws, arena: arena)
                let (loss, count) = Loss.softmaxCrossEntropy(logits: logits, rows: t, classes: v,
                                                             targets: all.baseAddress! + start + 1, gradient: nil)
                total += Double(loss) * Double(count)
            }
            swap(&state, &next)
            start += t
        }
        return (total, ids.count - 1)
    }

    /// `negativeLogLikelihood` with the weights stored as `precision`. `.fp32` is the chunked
    /// whole-sequence forward above. Otherwise the text is read one token at a time through the
    /// batch-1 steps that `sample(precision:)` runs — the same narrow weights, kernels and
    /// arithmetic (for w8a8 the quantised activations too) — and the loss is summed over the same
    /// chunks, so the difference from fp32 is what the precision costs.
    /// - Throws: `RecurrentError.invalidArgument` for a weight that is not finite, or for finite
    ///   weights whose outputs overflow Float32 on this text (the loss is not finite).
    public func negativeLogLikelihood(_ ids: [Int32], chunk: Int = 256,
                                      precision: InferencePrecision) throws -> (nats: Double, predictions: Int) {
        let result = precision == .fp32 ? negativeLogLikelihood(ids, chunk: chunk)
                                        : try steppedNegativeLogLikelihood(ids, chunk: chunk, precision: precision)
        guard result.nats.isFinite else {
            throw RecurrentError.invalidArgument(name: "model output", value: "not finite",
                                                 expected: "finite probabilities; the checkpoint's weights are too large (they overflow Float32)")
        }
        return result
    }

    private func steppedNegativeLogLikelihood(_ ids: [Int32], chunk: Int,
                                              precision: InferencePrecision) throws -> (nats: Double, predictions: Int) {
        guard ids.count >= 2 else { return (0, 0) }
        let v = configuration.vocabulary.count
        let stepper = try TokenStepper(self, precision: precision)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * v)
        defer { logits.deallocate() }
        var total = 0.0
        var start = 0
        while start < ids.count - 1 {
            let t = min(chunk, ids.count - 1 - start)
            for i in 0..<t {
                try stepper.step(ids[start + i])
                (logits + i * v).update(from: stepper.logits, count: v)
            }
            ids.withUnsafeBufferPointer { all in
                let (loss, count) = Loss.softmaxCrossEntropy(logits: logits, rows: t, classes: v,
                                                             targets: all.baseAddress! + start + 1, gradient: nil)
                total += Double(loss) * Double(count)
            }
            start += t
        }
        return (total, ids.count - 1)
    }

    // MARK: Sampling

    /// Generates `length` characters, one step at a time with the streaming API (batch 1),
    /// after reading `prime` (or a newline, or the first symbol, when `prime` is empty).
    /// - Parameters:
    ///   - temperature: logits are divided by it (> 0).
    ///   - topK: sample among the K most likely characters only (nil: all).
    ///   - precision: how the weight matrices are stored while sampling (`TokenStepper`): `.fp32`
    ///     as trained; `.bf16`, `.int8` and `.w8a8` store every W_hh, every W_ih above the first
    ///     layer and the head's W narrow (`NarrowMatrix`). The same seed and precision give the same
    ///     text for any thread count.
    ///   - emit: receives each generated character as soon as it exists.
    /// - Throws: `RecurrentError.invalidArgument` for a prime character outside the vocabulary.
    public func sample(length: Int, temperature: Float = 1, topK: Int? = nil, prime: String = "", seed: UInt64,
                       precision: InferencePrecision = .fp32, emit: (Character) -> Void) throws {
        let vocab = configuration.vocabulary
        let primeIds = try self.primeIds(prime)
        var sampler = TokenSampler(vocabulary: vocab.count, temperature: temperature, topK: topK, seed: seed)
        // Every weight packed or narrowed once, the first layer's projection looked up per symbol.
        let stepper = try TokenStepper(self, precision: precision)
        for id in primeIds { try stepper.step(id) }
        for generated in 0..<length {
            guard let next = sampler.next(stepper.logits) else { throw TokenSampler.notFinite(at: generated + 1) }
            emit(Character(vocab.symbol(next)))
            try stepper.step(next)
        }
    }

    /// The tokens generation reads before its first draw: `prime`'s, or a newline (the first
    /// symbol when there is none) for an empty prime.
    /// - Throws: `RecurrentError.invalidArgument` for a character outside the vocabulary.
    func primeIds(_ prime: String) throws -> [Int32] {
        let vocab = configuration.vocabulary
        let ids = try vocab.encode(prime, source: "the prime text")
        return ids.isEmpty ? [vocab.id(of: "\n") ?? 0] : ids
    }
}
