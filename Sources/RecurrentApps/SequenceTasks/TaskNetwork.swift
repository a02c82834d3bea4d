import Foundation
import Recurrent

/// A prediction for one example.
public enum TaskPrediction: Sendable, Equatable {
    /// classify: the label's index and its probability.
    case label(Int, probability: Double)
    /// regress: the values, in the targets' units.
    case values([Double])
    /// tag: a label index per step, and the probability of the whole tag sequence.
    case tags([Int], probability: Double)
    /// seq2seq, caption: token ids and the sequence's log-probability.
    case tokens([Int32], logProbability: Double)
}

/// What training and prediction need from a task's model: forward keeps the outputs, `loss`
/// measures them (and keeps ∂L/∂outputs), `backward` runs from that gradient.
protocol TaskNetwork: AnyObject {
    var arena: ParameterArena { get }
    /// Forward on a batch; the outputs stay in the network for `loss`, `accuracy` and `backward`.
    func forward(_ batch: ArraySlice<EncodedExample>, training: Bool, rng: inout SeededGenerator) throws
    /// The summed loss of the last forward's outputs and the number of terms it sums over.
    func loss(_ batch: ArraySlice<EncodedExample>) -> BatchLoss
    /// Backward from the last `loss`: gradients accumulate (+=) into the arena.
    func backward(_ batch: ArraySlice<EncodedExample>) throws
    /// Of the last forward: the argmax predictions that equal their targets, and how many were
    /// counted (labels, tags, or teacher-forced target tokens); nil for regression.
    func accuracy(_ batch: ArraySlice<EncodedExample>) -> (right: Int, count: Int)?
    func predict(_ batch: ArraySlice<EncodedExample>, beam: Int) throws -> [TaskPrediction]
}

/// Of `rows` rows of `classes` logits, those whose largest logit is the row's target (targets
/// below 0 are not counted).
func argmaxMatches(_ logits: UnsafePointer<Float>, rows: Int, classes: Int, targets: (Int) -> Int32) -> (right: Int, count: Int) {
    var right = 0, count = 0
    for r in 0..<rows {
        let target = targets(r)
        guard target >= 0 else { continue }
        count += 1
        let row = logits + r * classes
        var best = 0
        for j in 1..<classes where row[j] > row[best] { best = j }
        if best == Int(target) { right += 1 }
    }
    return (right, count)
}

/// classify, regress and tag: Embedding or features → recurrent stack → pooled or per-step head.
final class SequenceTaskNetwork: TaskNetwork {
    let spec: TaskSpecification
    let model: SequenceModel
    let arena: ParameterArena
    let workspace = SequenceModelWorkspace()
    var readout: SequenceModel.Readout {
        spec.kind == .tag ? .allSteps : (spec.pooling == .mean ? .mean : .finalState)
    }
    var outputs: Int { spec.kind == .regress ? spec.outputs : spec.labels.count }

    init(spec: TaskSpecification, dropout: Float, outputDropout: Float = 0, weightDrop: Float = 0, seed: UInt64,
         verify: (ParameterLayout) throws -> Void = { _ in }) throws {
        self.spec = spec
        var layout = ParameterLayout()
        let input: SequenceModel.Input = spec.inputVocabulary.map { .tokens(vocabulary: $0.count, embedding: spec.embeddingSize) }
            ?? .features(spec.features!)
        model = try SequenceModel(input: input, kind: spec.cell, hiddenSize: spec.hiddenSize, projectedSize: spec.projectedSize,
                                  layers: spec.layers,
                                  bidirectional: spec.bidirectional, dropout: dropout, outputDropout: outputDropout,
                                  weightDrop: weightDrop,
                                  outputs: spec.kind == .regress ? spec.outputs : spec.labels.count, layout: &layout)
        try verify(layout)
        arena = ParameterArena(layout: layout, seed: seed)
    }

    /// The batch padded to its longest sequence: (tokens or features, lengths, T).
    func pad(_ batch: ArraySlice<EncodedExample>) -> (tokens: [Int32], features: [Float], lengths: [Int32], steps: Int) {
        let t = batch.map(\.length).max()!
        let b = batch.count
        var tokens: [Int32] = [], features: [Float] = []
        if spec.inputVocabulary != nil {
            tokens = [Int32](repeating: 0, count: b * t)
            tokens.withUnsafeMutableBufferPointer { padded in
                for (r, e) in batch.enumerated() {
                    precondition(e.tokens.count <= t, "an example's tokens past its length")
                    e.tokens.withUnsafeBufferPointer { ids in
                        if let ids = ids.baseAddress { (padded.baseAddress! + r * t).update(from: ids, count: e.tokens.count) }
                    }
                }
            }
        } else {
            let f = spec.features!
            features = [Float](repeating: 0, count: b * t * f)
            features.withUnsafeMutableBufferPointer { padded in
                for (r, e) in batch.enumerated() {
                    precondition(e.features.count <= t * f, "an example's features past its length")
                    e.features.withUnsafeBufferPointer { values in
                        if let values = values.baseAddress { (padded.baseAddress! + r * t * f).update(from: values, count: e.features.count) }
                    }
                }
            }
        }
        return (tokens, features, batch.map { Int32($0.length) }, t)
    }

    /// The last forward's outputs and padded batch; the last loss's gradient.
    private var last: (output: [Float], padded: (tokens: [Int32], features: [Float], lengths: [Int32], steps: Int))?
    private var gradient: [Float] = []

    func forward(_ batch: ArraySlice<EncodedExample>, training: Bool, rng: inout SeededGenerator) {
        last = run(batch, training: training, rng: &rng)
    }

    func run(_ batch: ArraySlice<EncodedExample>, training: Bool, rng: inout SeededGenerator)
        -> (output: [Float], padded: (tokens: [Int32], features: [Float], lengths: [Int32], steps: Int)) {
        let p = pad(batch)
        let b = batch.count
        var output = [Float](repeating: 0, count: (readout == .allSteps ? b * p.steps : b) * outputs)
        p.lengths.withUnsafeBufferPointer { lengths in
            p.tokens.withUnsafeBufferPointer { tokens in
                p.features.withUnsafeBufferPointer { features in
                    model.forward(features: features.baseAddress, tokens: tokens.baseAddress, batch: b, steps: p.steps,
                                  lengths: lengths.baseAddress, readout: readout, output: &output, training: training,
                                  rng: &rng, workspace: workspace, arena: arena)
                }
            }
        }
        return (output, p)
    }

    /// For one example, the head applied at every step to the top layer's output so far, (length,
    /// outputs) in the head's units (logits; standardised values for regress): h_t for tag and
    /// `pooling` final; for `pooling` mean the running mean of h_1…h_t, which the head, being
    /// affine, turns into the running mean of its per-step outputs. With one direction, the last
    /// row is what `predict` reads out; a bidirectional model's rows mix in the reverse direction's
    /// view of the steps after t.
    func stepOutputs(_ e: EncodedExample) -> [Float] {
        var rng = SeededGenerator(seed: 0)
        let p = pad([e][...])
        let c = outputs
        var output = [Float](repeating: 0, count: p.steps * c)
        p.lengths.withUnsafeBufferPointer { lengths in
            p.tokens.withUnsafeBufferPointer { tokens in
                p.features.withUnsafeBufferPointer { features in
                    model.forward(features: features.baseAddress, tokens: tokens.baseAddress, batch: 1, steps: p.steps,
                                  lengths: lengths.baseAddress, readout: .allSteps, output: &output, training: false,
                                  rng: &rng, workspace: workspace, arena: arena)
                }
            }
        }
        guard spec.kind != .tag, spec.pooling == .mean else { return output }
        var sum = [Float](repeating: 0, count: c)
        for s in 0..<p.steps {
            for j in 0..<c {
                sum[j] += output[s * c + j]
                output[s * c + j] = sum[j] / Float(s + 1)
            }
        }
        return output
    }

    /// The targets of a tag batch, a label per valid step and −1 on the padding.
    private func tagTargets(_ batch: ArraySlice<EncodedExample>, steps: Int) -> [Int32] {
        var targets = [Int32](repeating: -1, count: batch.count * steps)
        for (r, e) in batch.enumerated() { for (s, tag) in e.tags.enumerated() { targets[r * steps + s] = tag } }
        return targets
    }

    func loss(_ batch: ArraySlice<EncodedExample>) -> BatchLoss {
        let (output, p) = last!
        let b = batch.count
        gradient = [Float](repeating: 0, count: output.count)
        switch spec.kind {
        case .classify:
            let targets = batch.map(\.label)
            let (l, n) = Loss.softmaxCrossEntropy(logits: output, rows: b, classes: outputs, targets: targets, gradient: &gradient)
            return BatchLoss(sum: Double(l) * Double(n), count: n)
        case .regress:
            let targets = batch.flatMap(\.values)
            let l = Loss.meanSquaredError(output, target: targets, count: output.count, gradient: &gradient)
            return BatchLoss(sum: Double(l) * Double(output.count), count: output.count)
        default:   // tag: a label per valid step, padding ignored
            let targets = tagTargets(batch, steps: p.steps)
            let (l, n) = Loss.softmaxCrossEntropy(logits: output, rows: b * p.steps, classes: outputs, targets: targets,
                                                  gradient: &gradient)
            return BatchLoss(sum: Double(l) * Double(n), count: n)
        }
    }

    func backward(_ batch: ArraySlice<EncodedExample>) {
        let p = last!.padded
        p.lengths.withUnsafeBufferPointer { lengths in
            p.tokens.withUnsafeBufferPointer { tokens in
                p.features.withUnsafeBufferPointer { features in
                    model.backward(features: features.baseAddress, tokens: tokens.baseAddress, batch: batch.count,
                                   steps: p.steps, lengths: lengths.baseAddress, readout: readout, outputGradient: gradient,
                                   workspace: workspace, arena: arena)
                }
            }
        }
    }

    func accuracy(_ batch: ArraySlice<EncodedExample>) -> (right: Int, count: Int)? {
        let (output, p) = last!
        switch spec.kind {
        case .classify:
            let labels = batch.map(\.label)
            return output.withUnsafeBufferPointer { argmaxMatches($0.baseAddress!, rows: batch.count, classes: outputs) { labels[$0] } }
        case .tag:
            let targets = tagTargets(batch, steps: p.steps)
            return output.withUnsafeBufferPointer {
                argmaxMatches($0.baseAddress!, rows: batch.count * p.steps, classes: outputs) { targets[$0] }
            }
        default:
            return nil
        }
    }

    func predict(_ batch: ArraySlice<EncodedExample>, beam: Int) -> [TaskPrediction] {
        var rng = SeededGenerator(seed: 0)
        let (output, p) = run(batch, training: false, rng: &rng)
        let c = outputs
        var probabilities = [Float](repeating: 0, count: c)
        func best(_ row: UnsafePointer<Float>) -> (Int, Double) {
            Softmax.row(row, count: c, into: &probabilities)
            let i = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            return (i, Double(probabilities[i]))
        }
        return output.withUnsafeBufferPointer { out in
            batch.enumerated().map { r, e in
                switch spec.kind {
                case .classify:
                    let (i, prob) = best(out.baseAddress! + r * c)
                    return .label(i, probability: prob)
                case .regress:
                    return .values((0..<c).map { Double(out[r * c + $0]) * spec.targetStd[$0] + spec.targetMean[$0] })
                default:
                    var tags: [Int] = [], joint = 1.0
                    for s in 0..<e.length {
                        let (i, prob) = best(out.baseAddress! + (r * p.steps + s) * c)
                        tags.append(i)
                        joint *= prob
                    }
                    return .tags(tags, probability: joint)
                }
            }
        }
    }
}
