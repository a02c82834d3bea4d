import Foundation
import Recurrent

/// The character model as the trainer sees it: B streams through the training text, a chunk
/// of T characters a step, the hidden state carried from chunk to chunk and reset every epoch.
final class CharModelTask: TrainingTask {
    let model: CharLanguageModel
    let options: CharTrainingOptions
    let trainIds: [Int32]
    let validationIds: [Int32]
    let textHash: UInt64
    /// Characters per training stream, and steps per epoch.
    let streamLength: Int
    let stepsPerEpoch: Int
    var hidden: [Float]
    private var next: [Float]
    private var x: [Int32], y: [Int32]
    private var logits: [Float], dLogits: [Float]
    private let workspace = SequenceModelWorkspace()
    var arena: ParameterArena { model.arena }

    init(model: CharLanguageModel, text: String, textPath: String, options: CharTrainingOptions) throws {
        self.model = model
        self.options = options
        let ids = try model.configuration.vocabulary.encode(text, source: textPath)
        textHash = fnv1a(ids)
        let validationCount = Int(Double(ids.count) * options.validationFraction)
        trainIds = Array(ids[..<(ids.count - validationCount)])
        validationIds = Array(ids[(ids.count - validationCount)...])
        let (b, t) = (options.batch, options.sequence)
        guard trainIds.count >= b * (t + 1) else {
            throw RecurrentError.invalidFile(
                path: textPath,
                reason: "the training part holds \(trainIds.count) characters; batch \(b) × seq \(t) needs at least "
                    + "\(b * (t + 1)) (B·(T+1)); use a longer text or a smaller --batch or --seq")
        }
        guard validationCount == 0 || validationCount >= 2 else {
            throw RecurrentError.invalidFile(path: textPath, reason: "the validation part holds \(validationCount) character; "
                                             + "it needs at least 2 (raise --val-fraction, or set it to 0)")
        }
        streamLength = trainIds.count / b
        stepsPerEpoch = (streamLength - 1) / t
        hidden = [Float](repeating: 0, count: model.model.stack.stateCount(batch: b))
        next = hidden
        x = [Int32](repeating: 0, count: b * t)
        y = x
        logits = [Float](repeating: 0, count: b * t * model.configuration.vocabulary.count)
        dLogits = logits
    }

    /// The chunk's position in the epoch; the chunk itself goes into the task's buffers.
    func batch(step: Int, rng: inout SeededGenerator) -> Int {
        let (b, t) = (options.batch, options.sequence)
        let k = step % stepsPerEpoch
        if k == 0 { for i in hidden.indices { hidden[i] = 0 } }
        for r in 0..<b {
            let base = r * streamLength + k * t
            for s in 0..<t {
                x[r * t + s] = trainIds[base + s]
                y[r * t + s] = trainIds[base + s + 1]
            }
        }
        return k
    }

    func forward(_ k: Int, training: Bool, rng: inout SeededGenerator) {
        model.model.forward(tokens: x, batch: options.batch, steps: options.sequence, initialState: hidden, output: &logits,
                            finalState: &next, training: training && (options.dropout > 0 || options.outputDropout > 0),
                            rng: &rng, workspace: workspace, arena: arena)
    }

    /// The chunk's mean loss per character, counted once per step.
    func loss(_ k: Int) -> BatchLoss {
        let l = Loss.softmaxCrossEntropy(logits: logits, rows: options.batch * options.sequence,
                                         classes: model.configuration.vocabulary.count, targets: y, gradient: &dLogits).loss
        return BatchLoss(sum: Double(l), count: 1)
    }

    func backward(_ k: Int) {
        model.model.backward(tokens: x, batch: options.batch, steps: options.sequence, outputGradient: dLogits,
                             workspace: workspace, arena: arena)
    }

    func stepTaken(_ k: Int) { swap(&hidden, &next) }

    func tokens(in k: Int) -> Int { options.batch * options.sequence }

    func evaluate() -> Evaluation? {
        validationIds.count >= 2 ? Evaluation(loss: validationLoss()) : nil
    }

    /// Mean loss over the whole validation text, read as up to B contiguous streams in chunks of
    /// T with the state carried, dropout off.
    func validationLoss() -> Double {
        let t = options.sequence, v = model.configuration.vocabulary.count
        let streams = max(1, min(options.batch, (validationIds.count - 1) / t))
        let length = validationIds.count / streams
        let m = model.model
        var state = [Float](repeating: 0, count: m.stack.stateCount(batch: streams)), next = state
        var x = [Int32](repeating: 0, count: streams * t), y = x
        var logits = [Float](repeating: 0, count: streams * t * v)
        var noDropout = SeededGenerator(seed: 0)
        var total = 0.0, count = 0
        var start = 0
        while start < length - 1 {
            let steps = min(t, length - 1 - start)
            for r in 0..<streams {
                for s in 0..<steps {
                    x[r * steps + s] = validationIds[r * length + start + s]
                    y[r * steps + s] = validationIds[r * length + start + s + 1]
                }
            }
            m.forward(tokens: x, batch: streams, steps: steps, initialState: state, output: &logits, finalState: &next,
                      rng: &noDropout, workspace: workspace, arena: model.arena)
            let (loss, n) = Loss.softmaxCrossEntropy(logits: logits, rows: streams * steps, classes: v, targets: y, gradient: nil)
            total += Double(loss) * Double(n)
            count += n
            swap(&state, &next)
            start += steps
        }
        return total / Double(max(count, 1))
    }
}

/// FNV-1a over token ids: a fingerprint of the training text, to refuse resuming on another text.
func fnv1a(_ ids: [Int32]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids {
        var v = UInt32(bitPattern: id)
        for _ in 0..<4 {
            h = (h ^ UInt64(v & 0xFF)) &* 0x0000_0100_0000_01B3
            v >>= 8
        }
    }
    return h
}
