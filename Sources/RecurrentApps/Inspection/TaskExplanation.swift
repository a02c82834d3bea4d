import Foundation
import Recurrent

/// What a task model (`rnn fit`'s) does with each of some examples, step by step: `rnn explain
/// --data`'s numbers. classify and regress: the prediction and how it formed, the head applied
/// after each step (see `TaskExplanation.Example.steps`); tag: each step's label and its
/// probability; seq2seq and caption: the greedy output token by token with its probability and,
/// with attention, the weights over the source steps (`TaskExplanation.Example.outputs`).
public struct TaskExplanation: Sendable {
    /// The head's reading after one step.
    public struct Step: Sendable, Equatable {
        /// The input token read at this step (text inputs), or "step N" (1-based) for numeric ones.
        public let input: String
        /// classify, tag: the likeliest label's index; nil for regress.
        public let label: Int?
        /// classify, tag: the softmax over the labels; empty for regress.
        public let probabilities: [Double]
        /// regress: the values, in the targets' units; empty otherwise.
        public let values: [Double]

        /// classify, tag: the likeliest label's probability.
        public var probability: Double? { label.map { probabilities[$0] } }
    }

    /// One output step of a seq2seq or caption model's greedy decoding.
    public struct OutputStep: Sendable, Equatable {
        /// The token produced ("<eos>" on the last step when decoding reached it).
        public let token: String
        /// Its probability at that step (the likeliest token's softmax probability).
        public let probability: Double
        /// With attention: the weights over the example's source steps (they sum to 1); else empty.
        public let attention: [Double]
    }

    public struct Example: Sendable {
        public let id: String?
        /// The example's line in its file (1-based).
        public let line: Int
        /// The final prediction, exactly as `TaskPredictor.predict` gives it.
        public let prediction: TaskPrediction
        /// One per input step. classify, regress: the head applied to the top layer's state after
        /// the step (`pooling` final: h_t; mean: the mean of h_1…h_t), so the last step is the
        /// prediction — empty for a bidirectional model, whose state at t also depends on the
        /// steps after it. tag: the step's own label.
        public let steps: [Step]
        /// The input tokens (or "step N"), one per step, also for a bidirectional model.
        public let inputs: [String]
        /// The input as text: a text input itself, else "N steps" or "a vector of N numbers".
        public let inputText: String
        /// seq2seq, caption: the greedy output step by step (empty for the other kinds).
        public let outputs: [OutputStep]
        /// The example's target when it has one readable by the model: classify the label's
        /// index, tag one index per step; nil otherwise.
        public let labelTargets: [Int]?
        /// regress: the target values when the example has them.
        public let valueTargets: [Double]?
        /// seq2seq, caption: the target sequence's text when the example has one.
        public let tokenTarget: String?
    }

    public let kind: SequenceTaskKind
    public let labels: [String]
    public let pooling: Pooling
    public let bidirectional: Bool
    /// seq2seq: whether the model attends (`Example.outputs` carry weights).
    public let attention: Bool
    public let examples: [Example]
    /// Lines not explained (with `.skip`): the line and why.
    public let skipped: [(line: Int, reason: String)]
    /// The examples in the file (readable or not), of which the first `examples.count` are explained.
    public let total: Int
    /// Each example's prediction as `rnn predict` writes it (the label, values, tags or text).
    public let predictionTexts: [String]

    /// Whether `Example.steps` shows how the prediction formed: classify and regress with one direction.
    public var hasFormation: Bool { (kind == .classify || kind == .regress) && !bidirectional }
}

extension TaskPredictor {
    /// Explains the first `maxExamples` readable examples of a JSONL file ("-": standard input),
    /// read as `predict(file:beam:onError:)` reads it; targets are used when present.
    /// seq2seq and caption decode greedily (`rnn predict`'s default, beam 1).
    /// - Throws: `RecurrentError.invalidFile` for a bad line with `.stop`, or no usable example.
    public func explain(file data: String, maxExamples: Int = 20, onError: OnError = .stop) throws -> TaskExplanation {
        let (examples, encoded, skipped) = try read(data, withTargets: false, onError: onError)
        let shown = Array(zip(examples, encoded).prefix(max(0, maxExamples)))
        let predicted = try predictions(shown.map(\.1), beam: 1)
        var stepsOf: (Int) -> [TaskExplanation.Step] = { _ in [] }
        var outputsOf: (Int) -> [TaskExplanation.OutputStep] = { _ in [] }
        var attends = false
        if let network = network as? SequenceTaskNetwork {
            let steps = shown.map { spec.kind == .tag || !spec.bidirectional ? stepReadings(network, $0.0, $0.1) : [] }
            stepsOf = { steps[$0] }
        } else if let network = network as? Seq2SeqTaskNetwork {
            attends = network.model.attention != nil
            let target = spec.targetVocabulary!
            var decoded: [[Seq2SeqTaskNetwork.DecodedStep]] = []
            for start in stride(from: 0, to: shown.count, by: 64) {
                decoded += try network.decodeSteps(shown[start..<min(start + 64, shown.count)].map(\.1)[...])
            }
            let outputs = zip(shown, decoded).map { pair, steps in
                steps.map { step in
                    TaskExplanation.OutputStep(token: target.token(step.token), probability: step.probability,
                                               attention: step.attention.prefix(pair.1.tokens.count).map(Double.init))
                }
            }
            outputsOf = { outputs[$0] }
        }
        let explained = zip(shown, predicted).enumerated().map { i, item -> TaskExplanation.Example in
            let ((example, _), prediction) = item
            // The target, when the example has one the model can read.
            let target = example.target == nil ? nil : try? spec.encode(example, path: data, withTarget: true)
            var labelTargets: [Int]?, valueTargets: [Double]?, tokenTarget: String?
            if let target, target.hasTarget {
                switch spec.kind {
                case .classify: labelTargets = [Int(target.label)]
                case .tag: labelTargets = target.tags.map { Int($0) }
                case .regress:
                    valueTargets = target.values.enumerated().map { Double($1) * spec.targetStd[$0] + spec.targetMean[$0] }
                case .seq2seq, .caption:
                    tokenTarget = spec.tokenization.join(target.targetTokens.map { spec.targetVocabulary!.token($0) })
                }
            }
            return TaskExplanation.Example(id: example.id, line: example.line, prediction: prediction, steps: stepsOf(i),
                                           inputs: inputs(example, length: shown[i].1.length),
                                           inputText: Self.inputText(example), outputs: outputsOf(i),
                                           labelTargets: labelTargets, valueTargets: valueTargets, tokenTarget: tokenTarget)
        }
        return TaskExplanation(kind: spec.kind, labels: spec.labels, pooling: spec.pooling, bidirectional: spec.bidirectional,
                               attention: attends, examples: explained, skipped: skipped,
                               total: examples.count + skipped.count, predictionTexts: predicted.map(describe))
    }

    /// `TaskExplanation.Example.inputText`.
    static func inputText(_ example: Recurrent.Example) -> String {
        switch example.input {
        case let .text(s): return s
        case let .sequence(rows): return "\(rows.count) steps of \(rows.first?.count ?? 0) numbers"
        case let .vector(v): return "a vector of \(v.count) numbers"
        }
    }

    /// The input's tokens, "step N" for numeric steps, or "vector" for a caption's input.
    func inputs(_ example: Recurrent.Example, length: Int) -> [String] {
        switch example.input {
        case let .text(s): return spec.tokens(s)
        case .sequence: return (1...length).map { "step \($0)" }
        case .vector: return ["vector"]
        }
    }

    /// classify, regress, tag: the head's reading after each step of one example.
    func stepReadings(_ network: SequenceTaskNetwork, _ example: Recurrent.Example, _ e: EncodedExample) -> [TaskExplanation.Step] {
        let c = network.outputs
        let inputs = inputs(example, length: e.length)
        let out = network.stepOutputs(e)
        var probabilities = [Float](repeating: 0, count: c)
        return (0..<e.length).map { s in
            let row = Array(out[(s * c)..<((s + 1) * c)])
            if spec.kind == .regress {
                let values = (0..<c).map { Double(row[$0]) * spec.targetStd[$0] + spec.targetMean[$0] }
                return .init(input: inputs[s], label: nil, probabilities: [], values: values)
            }
            row.withUnsafeBufferPointer { Softmax.row($0.baseAddress!, count: c, into: &probabilities) }
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            return .init(input: inputs[s], label: best, probabilities: probabilities.map(Double.init), values: [])
        }
    }
}

extension TaskExplanation {
    /// The explanation as one JSON object: `task`, `labels`, `pooling`, `bidirectional`,
    /// `formation` (whether classify/regress steps show how the prediction formed), `examples`
    /// (each with `id`, `line`, `prediction` (label or values; tag: labels), `probability`
    /// (classify, tag: of the label or of the whole sequence) or `log_probability` (seq2seq,
    /// caption), `target` when known, `inputs`, `steps`: per step `input` with `label` and
    /// `probability` (and `probabilities` over all labels for classify) or `values`; seq2seq and
    /// caption `outputs`: per output step `token`, `probability` and with attention `attention`
    /// over the inputs), `attention`, `skipped` (line, reason), `total`.
    /// - Parameter source: leading fields (e.g. the checkpoint's and the data's paths).
    public func json(source: [(String, String)] = []) -> String {
        typealias J = JSONText
        func label(_ i: Int) -> String { J.string(labels[i]) }
        func numbers(_ v: [Double]) -> String { J.array(v.map(J.number)) }
        let items = examples.enumerated().map { index, e -> String in
            var fields: [(String, String)] = []
            if let id = e.id { fields.append(("id", J.string(id))) }
            fields.append(("line", "\(e.line)"))
            switch e.prediction {
            case let .label(i, p): fields += [("prediction", label(i)), ("probability", J.number(p))]
            case let .values(v): fields.append(("prediction", numbers(v)))
            case let .tags(t, p): fields += [("prediction", J.array(t.map(label))), ("probability", J.number(p))]
            case let .tokens(_, lp): fields += [("prediction", J.string(predictionTexts[index])), ("log_probability", J.number(lp))]
            }
            if let t = e.labelTargets { fields.append(("target", kind == .tag ? J.array(t.map(label)) : label(t[0]))) }
            if let v = e.valueTargets { fields.append(("target", numbers(v))) }
            if let t = e.tokenTarget { fields.append(("target", J.string(t))) }
            fields.append(("inputs", J.array(e.inputs.map(J.string))))
            let steps = e.steps.map { s -> String in
                var f: [(String, String)] = [("input", J.string(s.input))]
                if let l = s.label {
                    f += [("label", label(l)), ("probability", J.number(s.probabilities[l]))]
                    if kind == .classify { f.append(("probabilities", numbers(s.probabilities))) }
                } else {
                    f.append(("values", numbers(s.values)))
                }
                return J.object(f)
            }
            fields.append(("steps", J.array(steps)))
            if kind == .seq2seq || kind == .caption {
                fields.append(("outputs", J.array(e.outputs.map { o in
                    J.object([("token", J.string(o.token)), ("probability", J.number(o.probability))]
                             + (attention ? [("attention", numbers(o.attention))] : []))
                })))
            }
            return J.object(fields)
        }
        return J.object(source + [
            ("task", J.string(kind.rawValue)), ("labels", J.array(labels.map(J.string))), ("pooling", J.string(pooling.rawValue)),
            ("bidirectional", "\(bidirectional)"), ("formation", "\(hasFormation)"), ("attention", "\(attention)"), ("examples", J.array(items)),
            ("skipped", J.array(skipped.map { J.object([("line", "\($0.line)"), ("reason", J.string($0.reason))]) })),
            ("total", "\(total)"),
        ])
    }
}
