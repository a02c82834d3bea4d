import Foundation
import Recurrent

/// What a task model (`rnn fit`'s) does with each of some examples, step by step: `rnn explain
/// --data`'s numbers. classify and regress: the prediction and how it formed, the head applied
/// after each step (see `TaskExplanation.Example.steps`); tag: each step's label and its
/// probability. seq2seq and caption models are not explained yet.
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
        /// The example's target when it has one readable by the model: classify the label's
        /// index, tag one index per step; nil otherwise.
        public let labelTargets: [Int]?
        /// regress: the target values when the example has them.
        public let valueTargets: [Double]?
    }

    public let kind: SequenceTaskKind
    public let labels: [String]
    public let pooling: Pooling
    public let bidirectional: Bool
    public let examples: [Example]
    /// Lines not explained (with `.skip`): the line and why.
    public let skipped: [(line: Int, reason: String)]
    /// The examples in the file (readable or not), of which the first `examples.count` are explained.
    public let total: Int

    /// Whether `Example.steps` shows how the prediction formed: classify and regress with one direction.
    public var hasFormation: Bool { (kind == .classify || kind == .regress) && !bidirectional }
}

extension TaskPredictor {
    /// Explains the first `maxExamples` readable examples of a JSONL file ("-": standard input),
    /// read as `predict(file:beam:onError:)` reads it; targets are used when present.
    /// - Throws: `RecurrentError.invalidFile` for a seq2seq or caption model (not supported
    ///   yet); `RecurrentError.invalidFile` for a bad line with `.stop`, or no usable example.
    public func explain(file data: String, maxExamples: Int = 20, onError: OnError = .stop) throws -> TaskExplanation {
        guard let network = network as? SequenceTaskNetwork else {
            throw RecurrentError.invalidFile(path: path, reason: "a \(spec.kind.rawValue) model: rnn explain supports "
                                             + "classify, regress and tag task models so far")
        }
        let (examples, encoded, skipped) = try read(data, withTargets: false, onError: onError)
        let shown = Array(zip(examples, encoded).prefix(max(0, maxExamples)))
        let predicted = try predictions(shown.map(\.1), beam: 1)
        let c = network.outputs
        let explained = zip(shown, predicted).map { pair, prediction -> TaskExplanation.Example in
            let (example, e) = pair
            let inputs: [String]
            if case let .text(s) = example.input {
                inputs = spec.tokens(s)
            } else {
                inputs = (1...e.length).map { "step \($0)" }
            }
            var steps: [TaskExplanation.Step] = []
            if spec.kind == .tag || !spec.bidirectional {
                let out = network.stepOutputs(e)
                var probabilities = [Float](repeating: 0, count: c)
                for s in 0..<e.length {
                    let row = Array(out[(s * c)..<((s + 1) * c)])
                    if spec.kind == .regress {
                        let values = (0..<c).map { Double(row[$0]) * spec.targetStd[$0] + spec.targetMean[$0] }
                        steps.append(.init(input: inputs[s], label: nil, probabilities: [], values: values))
                    } else {
                        row.withUnsafeBufferPointer { Softmax.row($0.baseAddress!, count: c, into: &probabilities) }
                        let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
                        steps.append(.init(input: inputs[s], label: best, probabilities: probabilities.map(Double.init), values: []))
                    }
                }
            }
            // The target, when the example has one the model can read.
            let target = example.target == nil ? nil : try? spec.encode(example, path: data, withTarget: true)
            var labelTargets: [Int]?, valueTargets: [Double]?
            if let target, target.hasTarget {
                switch spec.kind {
                case .classify: labelTargets = [Int(target.label)]
                case .tag: labelTargets = target.tags.map { Int($0) }
                case .regress:
                    valueTargets = target.values.enumerated().map { Double($1) * spec.targetStd[$0] + spec.targetMean[$0] }
                default: break
                }
            }
            return TaskExplanation.Example(id: example.id, line: example.line, prediction: prediction, steps: steps,
                                           inputs: inputs, labelTargets: labelTargets, valueTargets: valueTargets)
        }
        return TaskExplanation(kind: spec.kind, labels: spec.labels, pooling: spec.pooling, bidirectional: spec.bidirectional,
                               examples: explained, skipped: skipped, total: examples.count + skipped.count)
    }
}

extension TaskExplanation {
    /// The explanation as one JSON object: `task`, `labels`, `pooling`, `bidirectional`,
    /// `formation` (whether classify/regress steps show how the prediction formed), `examples`
    /// (each with `id`, `line`, `prediction` (label or values; tag: labels), `probability`
    /// (classify, tag: of the label or of the whole sequence), `target` when known, `inputs`, and
    /// `steps`: per step `input` with `label` and `probability` (and `probabilities` over all
    /// labels for classify) or `values`), `skipped` (line, reason), `total`.
    /// - Parameter source: leading fields (e.g. the checkpoint's and the data's paths).
    public func json(source: [(String, String)] = []) -> String {
        typealias J = JSONText
        func label(_ i: Int) -> String { J.string(labels[i]) }
        func numbers(_ v: [Double]) -> String { J.array(v.map(J.number)) }
        let items = examples.map { e -> String in
            var fields: [(String, String)] = []
            if let id = e.id { fields.append(("id", J.string(id))) }
            fields.append(("line", "\(e.line)"))
            switch e.prediction {
            case let .label(i, p): fields += [("prediction", label(i)), ("probability", J.number(p))]
            case let .values(v): fields.append(("prediction", numbers(v)))
            case let .tags(t, p): fields += [("prediction", J.array(t.map(label))), ("probability", J.number(p))]
            case let .tokens(ids, lp): fields += [("prediction", J.array(ids.map { "\($0)" })), ("log_probability", J.number(lp))]
            }
            if let t = e.labelTargets { fields.append(("target", kind == .tag ? J.array(t.map(label)) : label(t[0]))) }
            if let v = e.valueTargets { fields.append(("target", numbers(v))) }
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
            return J.object(fields)
        }
        return J.object(source + [
            ("task", J.string(kind.rawValue)), ("labels", J.array(labels.map(J.string))), ("pooling", J.string(pooling.rawValue)),
            ("bidirectional", "\(bidirectional)"), ("formation", "\(hasFormation)"), ("examples", J.array(items)),
            ("skipped", J.array(skipped.map { J.object([("line", "\($0.line)"), ("reason", J.string($0.reason))]) })),
            ("total", "\(total)"),
        ])
    }
}
