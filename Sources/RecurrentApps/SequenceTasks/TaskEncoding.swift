import Foundation
import Recurrent

/// An example as numbers: what the networks read.
struct EncodedExample: Sendable {
    /// Text input: token ids (T).
    var tokens: [Int32] = []
    /// Numeric input, standardised: (T, F), or (F) for a caption's vector.
    var features: [Float] = []
    /// Steps of input.
    var length = 0
    /// classify: the label's index.
    var label: Int32 = -1
    /// regress: standardised targets (O).
    var values: [Float] = []
    /// tag: a label index per step (T).
    var tags: [Int32] = []
    /// seq2seq, caption: the target tokens, without <bos>/<eos>.
    var targetTokens: [Int32] = []
    var hasTarget = false
    var id: String?
    var line = 0
}

extension TaskSpecification {
    /// The spec for training `kind` on `examples`: vocabularies, labels, statistics.
    /// - Throws: `RecurrentError.invalidFile` ("FILE:LINE: ...") for an input or target of the
    ///   wrong kind for the task.
    /// - Parameter keepCase: word tokens keep their case (else they are lowercased); punctuation is
    ///   split from words but for tagging, whose labels count whitespace-separated steps.
    static func build(kind: SequenceTaskKind, examples: [Example], path: String, tokenization: Tokenization,
                      keepCase: Bool = false) throws -> TaskSpecification {
        var spec = TaskSpecification(kind: kind)
        spec.tokenization = tokenization
        spec.lowercase = tokenization == .word && !keepCase
        spec.splitPunctuation = tokenization == .word && kind != .tag
        func bad(_ e: Example, _ reason: String) -> RecurrentError { .invalidFile(path: "\(path):\(e.line)", reason: reason) }
        let first = examples[0]
        switch first.input {
        case .text:
            guard kind != .caption else { throw bad(first, "a caption's \"input\" must be one numeric vector, found a string") }
            var tokens = Set<String>()
            for e in examples {
                guard case let .text(s) = e.input else { throw bad(e, "\"input\" must be a string like the first example's") }
                let t = spec.tokens(s)
                guard !t.isEmpty else { throw bad(e, "\"input\" has no \(tokenization.rawValue) tokens") }
                tokens.formUnion(t)
            }
            spec.inputVocabulary = TokenVocabulary(building: tokens, withBoundaries: false)
        case let .sequence(rows):
            // Variances as E[x²] − E[x]², clamped at 0: rounding can make them slightly negative
            // for constant features, and √(negative) would be NaN.
            guard kind != .caption else { throw bad(first, "a caption's \"input\" must be one numeric vector, found a sequence") }
            guard kind != .seq2seq else { throw bad(first, "seq2seq reads text input, found numbers") }
            let f = rows[0].count
            var sum = [Double](repeating: 0, count: f), sq = sum, n = 0.0
            for e in examples {
                guard case let .sequence(r) = e.input else { throw bad(e, "\"input\" must be a sequence like the first example's") }
                for row in r { for j in 0..<f { sum[j] += Double(row[j]); sq[j] += Double(row[j]) * Double(row[j]) } }
                n += Double(r.count)
            }
            spec.features = f
            spec.featureMean = sum.map { Float($0 / n) }
            spec.featureStd = (0..<f).map { j in Float(max(max(sq[j] / n - (sum[j] / n) * (sum[j] / n), 0).squareRoot(), 1e-6)) }
        case let .vector(v):
            guard kind == .caption else { throw bad(first, "\"input\" is one vector: only captions read that; use [[...], ...] for a sequence") }
            let f = v.count
            var sum = [Double](repeating: 0, count: f), sq = sum
            for e in examples {
                guard case let .vector(x) = e.input else { throw bad(e, "\"input\" must be a vector like the first example's") }
                for j in 0..<f { sum[j] += Double(x[j]); sq[j] += Double(x[j]) * Double(x[j]) }
            }
            let n = Double(examples.count)
            spec.features = f
            spec.featureMean = sum.map { Float($0 / n) }
            spec.featureStd = (0..<f).map { j in Float(max(max(sq[j] / n - (sum[j] / n) * (sum[j] / n), 0).squareRoot(), 1e-6)) }
        }
        switch kind {
        case .classify:
            spec.labels = Array(Set(try examples.map { e -> String in
                switch e.target {
                case let .string(s)?: return s
                case let .number(d)?: return labelText(d)
                default: throw bad(e, "classification needs a label (a string or a number) as \"target\"")
                }
            })).sorted()
            guard spec.labels.count >= 2 else { throw bad(first, "classification needs at least 2 labels; found only '\(spec.labels[0])'") }
        case .regress:
            let targets = try examples.map { e -> [Double] in
                switch e.target {
                case let .number(d)?: return [d]
                case let .numbers(v)?: return v
                default: throw bad(e, "regression needs a number or an array of numbers as \"target\"")
                }
            }
            spec.outputs = targets[0].count
            for (e, t) in zip(examples, targets) where t.count != spec.outputs {
                throw bad(e, "\"target\" has \(t.count) numbers, the first example's has \(spec.outputs)")
            }
            let n = Double(targets.count)
            spec.targetMean = (0..<spec.outputs).map { j in targets.reduce(0) { $0 + $1[j] } / n }
            spec.targetStd = (0..<spec.outputs).map { j in
                max((targets.reduce(0) { $0 + ($1[j] - spec.targetMean[j]) * ($1[j] - spec.targetMean[j]) } / n).squareRoot(), 1e-9)
            }
        case .tag:
            var labels = Set<String>()
            for e in examples {
                guard case let .labels(l)? = e.target else { throw bad(e, "tagging needs an array of labels (one per input step) as \"target\"") }
                labels.formUnion(l)
            }
            spec.labels = labels.sorted()
        case .seq2seq, .caption:
            var tokens = Set<String>()
            for e in examples {
                guard case let .string(s)? = e.target else { throw bad(e, "\(kind.rawValue) needs a string as \"target\"") }
                let t = spec.tokens(s)
                tokens.formUnion(t)
                spec.longestTarget = max(spec.longestTarget, t.count)
            }
            spec.targetVocabulary = TokenVocabulary(building: tokens, withBoundaries: true)
        }
        return spec
    }

    static func labelText(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    /// Encodes one example.
    /// - Throws: `RecurrentError.invalidFile` ("FILE:LINE: ...") for an input that does not fit the
    ///   model, or (with targets) a label never seen in training.
    func encode(_ e: Example, path: String, withTarget: Bool) throws -> EncodedExample {
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: "\(path):\(e.line)", reason: reason) }
        var out = EncodedExample(id: e.id, line: e.line)
        switch e.input {
        case let .text(s):
            guard let vocab = inputVocabulary else { throw bad("\"input\" is text, the model reads \(features ?? 0) numeric features") }
            out.tokens = tokens(s).map(vocab.id)
            guard !out.tokens.isEmpty else { throw bad("\"input\" has no \(tokenization.rawValue) tokens") }
            out.length = out.tokens.count
        case let .sequence(rows):
            guard kind != .caption, let f = features else { throw bad("\"input\" is a numeric sequence, the model reads \(kind == .caption ? "one vector" : "text")") }
            guard rows[0].count == f else { throw bad("\"input\" has \(rows[0].count) features per step, the model reads \(f)") }
            out.features = rows.flatMap { row in (0..<f).map { (row[$0] - featureMean[$0]) / featureStd[$0] } }
            out.length = rows.count
        case let .vector(v):
            guard kind == .caption, let f = features else { throw bad("\"input\" is one vector: only caption models read that") }
            guard v.count == f else { throw bad("\"input\" has \(v.count) numbers, the model reads \(f)") }
            out.features = (0..<f).map { (v[$0] - featureMean[$0]) / featureStd[$0] }
            out.length = 1
        }
        guard withTarget, let target = e.target else { return out }
        out.hasTarget = true
        switch kind {
        case .classify:
            let text: String
            switch target {
            case let .string(s): text = s
            case let .number(d): text = Self.labelText(d)
            default: throw bad("\"target\" must be a label")
            }
            guard let i = labels.firstIndex(of: text) else {
                throw bad("label '\(text)' was never seen in training (known: \(labels.prefix(10).joined(separator: ", "))\(labels.count > 10 ? ", ..." : ""))")
            }
            out.label = Int32(i)
        case .regress:
            let v: [Double]
            switch target {
            case let .number(d): v = [d]
            case let .numbers(a): v = a
            default: throw bad("\"target\" must be a number or numbers")
            }
            guard v.count == outputs else { throw bad("\"target\" has \(v.count) numbers, the model predicts \(outputs)") }
            out.values = (0..<outputs).map { Float((v[$0] - targetMean[$0]) / targetStd[$0]) }
        case .tag:
            guard case let .labels(l) = target else { throw bad("\"target\" must be an array of labels") }
            guard l.count == out.length else {
                throw bad("\"target\" has \(l.count) labels for \(out.length) input \(tokenization == .word || features != nil ? "steps" : "characters")")
            }
            out.tags = try l.map { label in
                guard let i = labels.firstIndex(of: label) else { throw bad("label '\(label)' was never seen in training") }
                return Int32(i)
            }
        case .seq2seq, .caption:
            guard case let .string(s) = target else { throw bad("\"target\" must be a string") }
            out.targetTokens = tokens(s).map { targetVocabulary!.id($0) }
        }
        return out
    }
}
