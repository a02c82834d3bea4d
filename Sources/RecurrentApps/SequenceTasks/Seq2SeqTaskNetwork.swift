import Foundation
import Recurrent
/// seq2seq and caption: `Seq2SeqModel` over encoded examples; sequences in the target
/// vocabulary with `<bos>` and `<eos>` around them.
final class Seq2SeqTaskNetwork: TaskNetwork {
    let spec: TaskSpecification
    let model: Seq2SeqModel
    let arena: ParameterArena
    let workspace = Seq2SeqWorkspace()
    let bos: Int32
    let eos: Int32
    /// The longest output decoding may produce.
    var maximumOutput: Int { 2 * spec.longestTarget + 10 }

    init(spec: TaskSpecification, dropout: Float, seed: UInt64, verify: (ParameterLayout) throws -> Void = { _ in }) throws {
        self.spec = spec
        let target = spec.targetVocabulary!
        bos = target.beginID!
        eos = target.endID!
        let attention = try spec.attention.map { name -> AttentionKind in
            guard let kind = AttentionKind(rawValue: name) else {
                throw RecurrentError.invalidArgument(name: "attention", value: name, expected: "dot, general or additive")
            }
            return kind
        }
        let config = Seq2SeqConfiguration(cell: spec.cell, sourceVocabulary: spec.inputVocabulary?.count,
                                          sourceFeatures: spec.kind == .caption ? spec.features : nil,
                                          targetVocabulary: target.count, embeddingSize: spec.embeddingSize,
                                          hiddenSize: spec.hiddenSize, layers: spec.layers,
                                          bidirectionalEncoder: spec.bidirectional, attention: attention, dropout: dropout)
        try config.validate()
        var layout = ParameterLayout()
        model = try Seq2SeqModel(config, layout: &layout)
        try verify(layout)
        arena = ParameterArena(layout: layout, seed: seed)
    }

    func source(_ batch: ArraySlice<EncodedExample>) -> Seq2SeqSource {
        if spec.kind == .caption {
            return Seq2SeqSource(features: batch.flatMap(\.features), batch: batch.count)
        }
        return Seq2SeqSource(sequences: batch.map(\.tokens))
    }

    /// The last forward's batch, as the model reads it.
    private var last: Seq2SeqBatch?
    /// Its logits (B·T, V), in the workspace.
    private var logits: UnsafeBufferPointer<Float>?

    func forward(_ batch: ArraySlice<EncodedExample>, training: Bool, rng: inout SeededGenerator) throws {
        let b = Seq2SeqBatch(source: source(batch), targetSequences: batch.map(\.targetTokens), bos: bos, eos: eos)
        logits = try model.forward(b, training: training, rng: &rng, workspace: workspace, arena: arena)
        last = b
    }

    func loss(_ batch: ArraySlice<EncodedExample>) -> BatchLoss {
        let l = model.loss(last!, workspace: workspace)
        return BatchLoss(sum: Double(l) * Double(workspace.tokenCount), count: workspace.tokenCount)
    }

    func backward(_ batch: ArraySlice<EncodedExample>) throws {
        try model.backward(last!, workspace: workspace, arena: arena)
    }

    /// Teacher-forced token accuracy: each target token (and <eos>) against the argmax of its step.
    func accuracy(_ batch: ArraySlice<EncodedExample>) -> (right: Int, count: Int)? {
        let b = last!
        return argmaxMatches(logits!.baseAddress!, rows: b.batch * b.targetSteps, classes: model.targetVocabulary) { b.targets[$0] }
    }

    /// One greedy output step: the token taken (`eos` on the last step when reached), its
    /// probability, and with attention the weights over the batch's S source steps.
    struct DecodedStep {
        let token: Int32
        let probability: Double
        let attention: [Float]
    }

    /// `Seq2SeqModel.greedy` on the batch (predict's decoding, beam 1), each row's steps as it
    /// takes them, `eos` included when reached.
    func decodeSteps(_ batch: ArraySlice<EncodedExample>) throws -> [[DecodedStep]] {
        var steps = [[DecodedStep]](repeating: [], count: batch.count)
        _ = try model.greedy(source(batch), bos: bos, eos: eos, maxLength: maximumOutput, arena: arena) { r, token, logp, attention in
            steps[r].append(DecodedStep(token: token, probability: exp(Double(logp)),
                                        attention: attention.map(Array.init) ?? []))
        }
        return steps
    }

    func predict(_ batch: ArraySlice<EncodedExample>, beam: Int) throws -> [TaskPrediction] {
        let s = source(batch)
        let hypotheses = beam > 1
            ? try model.beamSearch(s, beamWidth: beam, bos: bos, eos: eos, maxLength: maximumOutput, arena: arena)
            : try model.greedy(s, bos: bos, eos: eos, maxLength: maximumOutput, arena: arena)
        return hypotheses.map { .tokens($0.tokens, logProbability: Double($0.logProbability)) }
    }
}
