import Foundation
import Recurrent

/// What a safetensors file holds and what Recurrent can do with it: `rnn inspect`.
public struct CheckpointInspection: Sendable {
    public struct Tensor: Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
    }

    public let path: String
    public let bytes: Int
    public let tensors: [Tensor]
    /// Metadata keys, sorted, with the config (or task spec) JSON.
    public let metadata: [(key: String, value: String)]
    /// One sentence per use: "a character model: rnn sample, rnn score, ...".
    public let uses: [String]

    /// Reads `path` and works out what it is.
    /// - Throws: `RecurrentError` for a file that is not valid safetensors.
    public init(path: String) throws {
        let file = try SafetensorsFile(contentsOf: path)
        self.path = path
        bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        tensors = file.tensors.sorted { $0.name < $1.name }.map { Tensor(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) }
        metadata = file.metadata.keys.sorted().map { ($0, file.metadata[$0]!) }
        var uses: [String] = []
        if file.metadata["config"] != nil {
            do {
                let model = try CharLanguageModel(checkpoint: file)
                let c = model.configuration
                uses.append("a character language model (\(c.layerShape) \(c.cell.rawValue), \(c.vocabulary.count) characters): "
                            + "rnn sample, rnn score, rnn explain")
                if file.metadata["training"] != nil { uses.append("holds training state: rnn train --resume its folder") }
            } catch {
                uses.append("has a character-model config but cannot be loaded: \(error)")
            }
        }
        if let task = file.metadata["task"] {
            do {
                let spec = try TaskSpecification(json: task, path: path)
                _ = try TaskCheckpoint.load(file)
                uses.append("a \(spec.kind.rawValue) model (\(CharModelConfiguration.layerShape(layers: spec.layers, hidden: spec.hiddenSize, projected: spec.projectedSize)) \(spec.cell.rawValue)): rnn predict, rnn evaluate")
            } catch {
                uses.append("has task metadata but cannot be loaded: \(error)")
            }
        }
        if uses.isEmpty {
            uses += Self.stateDictUses(file)
        }
        self.uses = uses
    }

    /// What a file without our metadata offers: the PyTorch modules it holds, by name.
    static func stateDictUses(_ file: SafetensorsFile) -> [String] {
        let dict: PyTorchStateDict
        do {
            dict = try PyTorchStateDict(file)
        } catch {
            return ["recurrent weights that cannot be loaded: \(error)"]
        }
        guard !dict.recurrentModules.isEmpty else { return ["no config or task metadata and no recurrent module: not a Recurrent checkpoint"] }
        var uses = dict.recurrentModules.map { "a PyTorch \($0.summary): PyTorchStateDict(...).stack(...) loads it in Swift" }
        // Importable as a character model if the modules fit (the vocabulary is the caller's).
        if let rnn = dict.recurrentModules.first, dict.recurrentModules.count == 1,
           let v = dict.matrices.first(where: { !$0.hasBias && $0.cols == rnn.inputSize })?.rows {
            let symbols = (0..<v).map { String(UnicodeScalar(0x100 + $0)!) }
            if let vocabulary = try? Vocabulary(symbols: symbols),
               (try? CharLanguageModel(importing: dict, vocabulary: vocabulary)) != nil {
                uses.append("a character model's state dict (\(v) characters): rnn import \(file.path) --vocab-from TEXT --out CHECKPOINT")
            }
        }
        return uses
    }
}
