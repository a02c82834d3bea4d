import Foundation
import Recurrent

/// The lecture's sequence shapes, as tasks on the user's own data.
public enum SequenceTaskKind: String, CaseIterable, Sendable {
    /// Many to one: a label per sequence.
    case classify
    /// Many to one: a number (or vector) per sequence.
    case regress
    /// Many to many, aligned: a label per step.
    case tag
    /// Many to many: an output sequence of its own length (encoder–decoder).
    case seq2seq
    /// One to many: a feature vector in, a sequence out.
    case caption
}

/// How a many-to-one model summarises a sequence.
public enum Pooling: String, CaseIterable, Sendable {
    /// The top layer's final hidden state (both directions).
    case final
    /// The mean of the top layer's outputs over the valid steps.
    case mean
}

/// Everything needed to turn examples into numbers and predictions back into values, and to
/// rebuild the model: built from the training data, stored in checkpoints as the `task` metadata.
public struct TaskSpecification: Sendable, Equatable {
    public var kind: SequenceTaskKind
    public var tokenization: Tokenization = .char
    /// Word tokens: lowercased first (`--tokens word` without `--keep-case`).
    public var lowercase = false
    /// Word tokens: punctuation split from the words (`--tokens word`, but for tagging, whose
    /// labels count the whitespace-separated steps). Both false in specs written before they existed.
    public var splitPunctuation = false
    /// Text input: its tokens (with `<unk>`); nil for numeric input.
    public var inputVocabulary: TokenVocabulary?
    /// Numeric input: features per step, and the training set's mean and standard deviation of each.
    public var features: Int?
    public var featureMean: [Float] = []
    public var featureStd: [Float] = []
    /// Classification and tagging: the labels seen in training, sorted.
    public var labels: [String] = []
    /// Regression: outputs per example, the training targets' mean and standard deviation.
    public var outputs = 1
    public var targetMean: [Double] = []
    public var targetStd: [Double] = []
    /// Sequence outputs: their tokens (with `<unk>`, `<bos>`, `<eos>`), and the longest
    /// training target (decoding stops at twice that plus 10).
    public var targetVocabulary: TokenVocabulary?
    public var longestTarget = 0
    // The model.
    public var cell: CellKind = .lstm
    public var hiddenSize = 128
    /// An LSTM's projected output width (`--proj-size`); nil for none.
    public var projectedSize: Int?
    public var layers = 1
    public var embeddingSize = 64
    public var bidirectional = false
    public var pooling: Pooling = .final
    /// Seq2seq attention: dot, general or additive (`AttentionKind`'s raw values); nil for none.
    public var attention: String?

    public init(kind: SequenceTaskKind) { self.kind = kind }

    /// The spec as JSON, keys in a fixed order.
    public var json: String {
        func strings(_ a: [String]) -> String { "[" + a.map(SafetensorsFile.jsonString).joined(separator: ", ") + "]" }
        func numbers<T>(_ a: [T]) -> String { "[" + a.map { "\($0)" }.joined(separator: ", ") + "]" }
        var f: [(String, String)] = [("task", SafetensorsFile.jsonString(kind.rawValue)),
                                     ("tokens", SafetensorsFile.jsonString(tokenization.rawValue))]
        if lowercase { f.append(("lowercase", "true")) }
        if splitPunctuation { f.append(("split_punctuation", "true")) }
        if let v = inputVocabulary { f.append(("input_vocab", strings(v.tokens))) }
        if let n = features {
            f += [("features", "\(n)"), ("feature_mean", numbers(featureMean)), ("feature_std", numbers(featureStd))]
        }
        if !labels.isEmpty { f.append(("labels", strings(labels))) }
        if kind == .regress {
            f += [("outputs", "\(outputs)"), ("target_mean", numbers(targetMean)), ("target_std", numbers(targetStd))]
        }
        if let v = targetVocabulary { f += [("target_vocab", strings(v.tokens)), ("longest_target", "\(longestTarget)")] }
        f += [("cell", SafetensorsFile.jsonString(cell.rawValue)), ("hidden_size", "\(hiddenSize)"), ("num_layers", "\(layers)"),
              ("embedding_size", "\(embeddingSize)"), ("bidirectional", bidirectional ? "true" : "false"),
              ("pooling", SafetensorsFile.jsonString(pooling.rawValue))]
        if let attention { f.append(("attention", SafetensorsFile.jsonString(attention))) }
        if let projectedSize { f.append(("proj_size", "\(projectedSize)")) }
        return "{" + f.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The tokens of `text` as this spec reads them: characters, or words (lowercased and with
    /// punctuation apart when the spec says so).
    public func tokens(_ text: String) -> [String] {
        guard tokenization == .word else { return tokenization.tokens(text) }
        let t = lowercase ? text.lowercased() : text
        return splitPunctuation ? Tokenization.wordsAndPunctuation(t) : tokenization.tokens(t)
    }

    /// Parses the `task` metadata of a checkpoint.
    /// - Throws: `RecurrentError.invalidFile` naming the bad field.
    public init(json: String, path: String) throws {
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: path, reason: "bad task metadata: \(reason)") }
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { throw bad("not a JSON object") }
        guard let k = o["task"] as? String, let kind = SequenceTaskKind(rawValue: k) else { throw bad("unknown \"task\"") }
        self.init(kind: kind)
        func int(_ key: String) throws -> Int {
            guard let n = o[key] as? NSNumber, let v = Int(exactly: n.doubleValue), v >= 1, v <= 1 << 20 else {
                throw bad("\"\(key)\" must be a positive integer")
            }
            return v
        }
        guard let t = o["tokens"] as? String, let tokenization = Tokenization(rawValue: t) else { throw bad("bad \"tokens\"") }
        self.tokenization = tokenization
        lowercase = o["lowercase"] as? Bool ?? false
        splitPunctuation = o["split_punctuation"] as? Bool ?? false
        do {
            if let v = o["input_vocab"] as? [String] { inputVocabulary = try TokenVocabulary(tokens: v) }
            if let v = o["target_vocab"] as? [String] {
                targetVocabulary = try TokenVocabulary(tokens: v)
            }
        } catch { throw bad("\(error)") }
        if let target = targetVocabulary {
            // Decoding starts with <bos> and stops at <eos>, and at most 2·longest_target + 10 tokens.
            guard target.beginID != nil, target.endID != nil else {
                throw bad("\"target_vocab\" lacks \(TokenVocabulary.begin) or \(TokenVocabulary.end)")
            }
            guard let n = o["longest_target"] as? NSNumber, let v = Int(exactly: n.doubleValue), v >= 0, v <= 1 << 20 else {
                throw bad("\"longest_target\" must be an integer from 0 to \(1 << 20)")
            }
            longestTarget = v
        }
        if o["features"] != nil {
            features = try int("features")
            featureMean = (o["feature_mean"] as? [NSNumber])?.map { $0.floatValue } ?? []
            featureStd = (o["feature_std"] as? [NSNumber])?.map { $0.floatValue } ?? []
            guard featureMean.count == features, featureStd.count == features else { throw bad("feature statistics do not match \"features\"") }
        }
        labels = o["labels"] as? [String] ?? []
        if kind == .regress {
            outputs = try int("outputs")
            targetMean = (o["target_mean"] as? [NSNumber])?.map { $0.doubleValue } ?? []
            targetStd = (o["target_std"] as? [NSNumber])?.map { $0.doubleValue } ?? []
            guard targetMean.count == outputs, targetStd.count == outputs else { throw bad("target statistics do not match \"outputs\"") }
        }
        guard let c = o["cell"] as? String, let cell = try? CellKind(parsing: c) else { throw bad("bad \"cell\"") }
        self.cell = cell
        hiddenSize = try int("hidden_size")
        if o["proj_size"] != nil { projectedSize = try int("proj_size") }
        layers = try int("num_layers")
        embeddingSize = try int("embedding_size")
        bidirectional = o["bidirectional"] as? Bool ?? false
        pooling = Pooling(rawValue: o["pooling"] as? String ?? "final") ?? .final
        if let a = o["attention"] as? String {
            guard ["dot", "general", "additive"].contains(a) else { throw bad("unknown attention '\(a)'") }
            attention = a
        }
        guard (inputVocabulary == nil) != (features == nil) else { throw bad("needs exactly one of \"input_vocab\" and \"features\"") }
        if [.classify, .tag].contains(kind) && labels.isEmpty { throw bad("no \"labels\"") }
        if [.seq2seq, .caption].contains(kind) && targetVocabulary == nil { throw bad("no \"target_vocab\"") }
    }
}
