import Foundation
import Recurrent

/// A trained task model, loaded from a checkpoint, for prediction and evaluation.
public final class TaskPredictor {
    public let spec: TaskSpecification
    let network: any TaskNetwork
    public let path: String

    /// - Throws: `RecurrentError` for an unreadable file or a checkpoint of another kind.
    public init(checkpoint path: String) throws {
        (spec, network) = try TaskCheckpoint.load(path)
        self.path = path
    }

    /// A parsed checkpoint (`file.path` names it).
    /// - Throws: `RecurrentError` for a checkpoint of another kind.
    public init(checkpoint file: SafetensorsFile) throws {
        (spec, network) = try TaskCheckpoint.load(file)
        path = file.path
    }

    /// Reads a JSONL file of examples for this model ("-": standard input).
    /// - Returns: the encoded examples and the lines skipped, each with its line and reason.
    func read(_ data: String, withTargets: Bool, onError: OnError)
        throws -> (examples: [Example], encoded: [EncodedExample], skipped: [(line: Int, reason: String)]) {
        try encode(JSONLDataset(contentsOf: data, requireTarget: withTargets, onError: onError), path: data,
                   withTargets: withTargets, onError: onError)
    }

    /// The examples of `dataset` this model can read, encoded, and the lines skipped with their
    /// reasons; `data` names it in errors.
    func encode(_ dataset: JSONLDataset, path data: String, withTargets: Bool, onError: OnError)
        throws -> (examples: [Example], encoded: [EncodedExample], skipped: [(line: Int, reason: String)]) {
        var examples: [Example] = [], encoded: [EncodedExample] = []
        var skipped = dataset.skipped
        for e in dataset.examples {
            do {
                encoded.append(try spec.encode(e, path: data, withTarget: withTargets))
                examples.append(e)
            } catch let error as RecurrentError {
                if onError == .stop { throw error }
                skipped.append((e.line, "\(error)"))
            }
        }
        guard !encoded.isEmpty else {
            throw RecurrentError.invalidFile(path: data, reason: "no usable examples (\(skipped.count) skipped)")
        }
        return (examples, encoded, skipped)
    }

    func predictions(_ encoded: [EncodedExample], beam: Int, batch: Int = 64) throws -> [TaskPrediction] {
        var out: [TaskPrediction] = []
        for start in stride(from: 0, to: encoded.count, by: batch) {
            out += try network.predict(encoded[start..<min(start + batch, encoded.count)], beam: beam)
        }
        return out
    }

    /// The fraction of a text input's tokens the model never saw in training (`<unk>`, id 0).
    static func unknownRate(_ e: EncodedExample) -> Double? {
        e.tokens.isEmpty ? nil : Double(e.tokens.filter { $0 == 0 }.count) / Double(e.tokens.count)
    }

    func output(_ e: Example, _ encoded: EncodedExample, _ p: TaskPrediction) -> TaskOutput {
        TaskOutput(id: e.id, line: e.line, prediction: p, error: nil, unknownRate: Self.unknownRate(encoded))
    }

    /// Predictions for examples in memory (their targets are ignored), in order. An example the
    /// model cannot read (text for a numeric model, a wrong feature count) gets an output with
    /// its `error` and no prediction.
    /// - Parameter beam: beam width for sequence outputs (1: greedy).
    public func predict(_ examples: [Example], beam: Int = 1) throws -> [TaskOutput] {
        var outputs: [TaskOutput?] = Array(repeating: nil, count: examples.count)
        var readable: [(index: Int, encoded: EncodedExample)] = []
        for (i, e) in examples.enumerated() {
            do {
                readable.append((i, try spec.encode(e, path: "example \(i + 1)", withTarget: false)))
            } catch let error as RecurrentError {
                outputs[i] = TaskOutput(id: e.id, line: e.line, prediction: nil, error: "\(error)", unknownRate: nil)
            }
        }
        for (r, p) in zip(readable, try predictions(readable.map(\.encoded), beam: beam)) {
            outputs[r.index] = output(examples[r.index], r.encoded, p)
        }
        return outputs.map { $0! }
    }

    /// Predictions for a JSONL file ("-": standard input), one per non-blank line in order; with
    /// `.skip`, a bad line's output carries its `error` instead of a prediction, so outputs line
    /// up with inputs.
    public func predict(file data: String, beam: Int = 1, onError: OnError = .stop) throws -> [TaskOutput] {
        try predict(read(data, withTargets: false, onError: onError), beam: beam)
    }

    /// `predict(file:)` for the text of a JSONL file in memory (`rnn serve`'s /v1/predict); a bad
    /// line's output carries its `error`, so outputs line up with the lines.
    /// - Parameter source: names the text in errors.
    /// - Throws: `RecurrentError.invalidFile` when no line is usable.
    package func predict(jsonl text: String, source: String, beam: Int = 1) throws -> [TaskOutput] {
        let dataset = try JSONLDataset(text: text, path: source, requireTarget: false, onError: .skip)
        return try predict(encode(dataset, path: source, withTargets: false, onError: .skip), beam: beam)
    }

    private func predict(_ read: (examples: [Example], encoded: [EncodedExample], skipped: [(line: Int, reason: String)]),
                         beam: Int) throws -> [TaskOutput] {
        let (examples, encoded, skipped) = read
        var outputs = zip(zip(examples, encoded), try predictions(encoded, beam: beam)).map { pair, p in output(pair.0, pair.1, p) }
        outputs += skipped.map { TaskOutput(id: nil, line: $0.line, prediction: nil, error: $0.reason, unknownRate: nil) }
        return outputs.sorted { $0.line < $1.line }
    }

    /// One JSON line per example: `{"id": ..., "prediction": ..., "probability" | "log_probability":
    /// ..., "unknown": ...}`, or `{"line": N, "error": ...}` for a skipped line.
    /// - Parameter beam: beam width for sequence outputs (1: greedy).
    public func predict(data: String, beam: Int = 1, onError: OnError = .stop) throws -> (lines: [String], skipped: Int) {
        let outputs = try predict(file: data, beam: beam, onError: onError)
        return (outputs.map(jsonLine), outputs.filter { $0.error != nil }.count)
    }

    /// A prediction's text: the label, the values, the tags or the sequence.
    public func describe(_ p: TaskPrediction) -> String {
        switch p {
        case let .label(i, _): return spec.labels[i]
        case let .values(v): return v.map { "\($0)" }.joined(separator: " ")
        case let .tags(t, _): return t.map { spec.labels[$0] }.joined(separator: " ")
        case let .tokens(ids, _): return spec.tokenization.join(ids.map { spec.targetVocabulary!.token($0) })
        }
    }

    /// `output` as one JSON line (see `predict(data:beam:onError:)`).
    public func jsonLine(_ output: TaskOutput) -> String {
        var fields: [(String, String)] = []
        if let id = output.id { fields.append(("id", SafetensorsFile.jsonString(id))) }
        switch output.prediction {
        case nil:
            fields += [("line", "\(output.line)"), ("error", SafetensorsFile.jsonString(output.error ?? "unreadable"))]
        case let .label(_, p)?:
            fields += [("prediction", SafetensorsFile.jsonString(describe(output.prediction!))), ("probability", "\(p)")]
        case let .values(v)?:
            fields.append(("prediction", v.count == 1 && spec.outputs == 1 ? "\(v[0])" : "[" + v.map { "\($0)" }.joined(separator: ", ") + "]"))
        case let .tags(t, p)?:
            fields += [("prediction", "[" + t.map { SafetensorsFile.jsonString(spec.labels[$0]) }.joined(separator: ", ") + "]"),
                       ("probability", "\(p)")]
        case let .tokens(_, lp)?:
            fields += [("prediction", SafetensorsFile.jsonString(describe(output.prediction!))), ("log_probability", "\(lp)")]
        }
        if let u = output.unknownRate { fields.append(("unknown", "\(u)")) }
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The task's metrics on labelled data, by name (snake case): classification `accuracy`,
    /// `macro_f1` (and a confusion matrix); regression `mse`, `mae`, `baseline_mse`,
    /// `baseline_mae` (predicting the training mean); tagging `accuracy` per step; seq2seq and
    /// captions `exact_match`, `token_accuracy`, and `bleu` for seq2seq.
    public func evaluate(data: String, beam: Int = 1, onError: OnError = .stop) throws -> TaskEvaluation {
        let (_, encoded, skippedLines) = try read(data, withTargets: true, onError: onError)
        let skipped = skippedLines.count
        let predicted = try predictions(encoded, beam: beam)
        var metrics: [(String, Double)] = []
        var confusion: [[Int]]?
        switch spec.kind {
        case .classify:
            let c = spec.labels.count
            var m = [[Int]](repeating: [Int](repeating: 0, count: c), count: c)   // m[truth][prediction]
            for (e, p) in zip(encoded, predicted) { if case let .label(i, _) = p { m[Int(e.label)][i] += 1 } }
            let correct = (0..<c).reduce(0) { $0 + m[$1][$1] }
            var f1s: [Double] = []
            for k in 0..<c {
                let tp = Double(m[k][k]), predictedK = Double((0..<c).reduce(0) { $0 + m[$1][k] })
                let actualK = Double(m[k].reduce(0, +))
                guard actualK + predictedK > 0 else { continue }   // a class absent from both
                f1s.append(2 * tp / (actualK + predictedK))
            }
            metrics = [("accuracy", Double(correct) / Double(encoded.count)),
                       ("macro_f1", f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count))]
            confusion = m
        case .regress:
            var se = 0.0, ae = 0.0, bse = 0.0, bae = 0.0, n = 0.0
            for (e, p) in zip(encoded, predicted) {
                guard case let .values(v) = p else { continue }
                for j in 0..<v.count {
                    let truth = Double(e.values[j]) * spec.targetStd[j] + spec.targetMean[j]
                    se += (v[j] - truth) * (v[j] - truth)
                    ae += abs(v[j] - truth)
                    bse += (spec.targetMean[j] - truth) * (spec.targetMean[j] - truth)
                    bae += abs(spec.targetMean[j] - truth)
                    n += 1
                }
            }
            metrics = [("mse", se / n), ("mae", ae / n), ("baseline_mse", bse / n), ("baseline_mae", bae / n)]
        case .tag:
            var right = 0, total = 0, exact = 0
            for (e, p) in zip(encoded, predicted) {
                guard case let .tags(t, _) = p else { continue }
                let r = zip(t, e.tags).filter { $0.0 == Int($0.1) }.count
                right += r
                total += e.tags.count
                if r == e.tags.count { exact += 1 }
            }
            metrics = [("accuracy", Double(right) / Double(total)), ("exact_match", Double(exact) / Double(encoded.count))]
        case .seq2seq, .caption:
            var exact = 0, right = 0, total = 0
            var hypotheses: [[Int32]] = [], references: [[Int32]] = []
            for (e, p) in zip(encoded, predicted) {
                guard case let .tokens(ids, _) = p else { continue }
                if ids == e.targetTokens { exact += 1 }
                right += zip(ids, e.targetTokens).filter { $0.0 == $0.1 }.count
                total += max(ids.count, e.targetTokens.count)
                hypotheses.append(ids)
                references.append(e.targetTokens)
            }
            metrics = [("exact_match", Double(exact) / Double(encoded.count)), ("token_accuracy", Double(right) / Double(max(total, 1)))]
            metrics.append(("bleu", corpusBLEU(hypotheses: hypotheses, references: references)))
        }
        // Text inputs: how much of them the model never saw in training.
        let tokens = encoded.reduce(0) { $0 + $1.tokens.count }
        if tokens > 0 {
            metrics.append(("unknown_rate", Double(encoded.reduce(0) { $0 + $1.tokens.filter { $0 == 0 }.count }) / Double(tokens)))
        }
        return TaskEvaluation(task: spec.kind, examples: encoded.count, skipped: skipped, metrics: metrics,
                              labels: spec.labels, confusion: confusion)
    }
}

/// One example's prediction from `TaskPredictor`, typed.
public struct TaskOutput: Sendable {
    public let id: String?
    /// The example's line in its file (1-based); for examples in memory, their own `line`.
    public let line: Int
    /// Nil when the example could not be read; `error` says why.
    public let prediction: TaskPrediction?
    public let error: String?
    /// Text inputs: the fraction of tokens the model never saw in training (`<unk>`).
    public let unknownRate: Double?
}

public struct TaskEvaluation: Sendable {
    public let task: SequenceTaskKind
    public let examples: Int
    public let skipped: Int
    /// (name, value) in a fixed order.
    public let metrics: [(String, Double)]
    public let labels: [String]
    /// classify: confusion[truth][prediction].
    public let confusion: [[Int]]?
}

/// Corpus BLEU-4 (Papineni et al. 2002): the geometric mean of clipped 1- to 4-gram precisions
/// over the whole corpus, times the brevity penalty; 0 when some n-gram order has no match.
func corpusBLEU(hypotheses: [[Int32]], references: [[Int32]]) -> Double {
    var matches = [Double](repeating: 0, count: 4), totals = matches
    var hypLength = 0.0, refLength = 0.0
    for (h, r) in zip(hypotheses, references) {
        hypLength += Double(h.count)
        refLength += Double(r.count)
        for n in 1...4 {
            guard h.count >= n else { continue }
            var refCounts: [[Int32]: Int] = [:]
            if r.count >= n { for i in 0...(r.count - n) { refCounts[Array(r[i..<(i + n)]), default: 0] += 1 } }
            var hypCounts: [[Int32]: Int] = [:]
            for i in 0...(h.count - n) { hypCounts[Array(h[i..<(i + n)]), default: 0] += 1 }
            for (gram, count) in hypCounts { matches[n - 1] += Double(min(count, refCounts[gram] ?? 0)) }
            totals[n - 1] += Double(h.count - n + 1)
        }
    }
    guard hypLength > 0, matches.allSatisfy({ $0 > 0 }) else { return 0 }
    let logPrecision = (0..<4).reduce(0.0) { $0 + log(matches[$1] / totals[$1]) } / 4
    let brevity = hypLength >= refLength ? 1 : exp(1 - refLength / hypLength)
    return brevity * exp(logPrecision)
}
