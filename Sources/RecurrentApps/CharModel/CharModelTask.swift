import Foundation
import Recurrent

/// The character model as the trainer sees it: B streams through the training text, a chunk
/// of T characters a step, the hidden state carried from chunk to chunk and reset every epoch.
/// In a data-parallel run each rank takes a contiguous share of the B streams.
final class CharModelTask: TrainingTask {
    let model: CharLanguageModel
    let options: CharTrainingOptions
    let trainIds: [Int32]
    let validationIds: [Int32]
    let textHash: UInt64
    /// Characters per training stream, and steps per epoch.
    let streamLength: Int
    let stepsPerEpoch: Int
    /// This rank's streams of the B (all of them in one process).
    let streams: Range<Int>
    let parallel: DataParallel?
    /// This rank's streams' state, (L·dirs, streams, S).
    var hidden: [Float]
    /// Every stream's state, (L·dirs, B, S), as `gatherState` last assembled it (a data-parallel run).
    private var gatheredHidden: [Float] = []
    private var next: [Float]
    private var x: [Int32], y: [Int32]
    private var logits: [Float], dLogits: [Float]
    private let workspace = SequenceModelWorkspace()
    var arena: ParameterArena { model.arena }

    init(model: CharLanguageModel, text: String, textPath: String, options: CharTrainingOptions,
         parallel: DataParallel? = nil) throws {
        self.model = model
        self.options = options
        self.parallel = parallel
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
        if let parallel, b < parallel.size {
            throw RecurrentError.invalidArgument(name: "batch", value: "\(b)",
                                                 expected: "at least one stream per rank (\(parallel.size) ranks): raise --batch")
        }
        streams = parallel?.share(of: b) ?? 0..<b
        let local = streams.count
        hidden = [Float](repeating: 0, count: model.model.stack.stateCount(batch: local))
        next = hidden
        x = [Int32](repeating: 0, count: local * t)
        y = x
        logits = [Float](repeating: 0, count: local * t * model.configuration.vocabulary.count)
        dLogits = logits
    }

    /// The chunk's position in the epoch; the chunk itself goes into the task's buffers.
    func batch(step: Int, rng: inout SeededGenerator) -> Int {
        let t = options.sequence
        let k = step % stepsPerEpoch
        if k == 0 { for i in hidden.indices { hidden[i] = 0 } }
        for r in 0..<streams.count {
            let base = (streams.lowerBound + r) * streamLength + k * t
            for s in 0..<t {
                x[r * t + s] = trainIds[base + s]
                y[r * t + s] = trainIds[base + s + 1]
            }
        }
        return k
    }

    func forward(_ k: Int, training: Bool, rng: inout SeededGenerator) {
        model.model.forward(tokens: x, batch: streams.count, steps: options.sequence, initialState: hidden, output: &logits,
                            finalState: &next, training: training && (options.dropout > 0 || options.outputDropout > 0
                                                                || options.weightDrop > 0),
                            rng: &rng, workspace: workspace, arena: arena)
    }

    /// The chunk's mean loss per character, counted once per step.
    func loss(_ k: Int) -> BatchLoss {
        let l = Loss.softmaxCrossEntropy(logits: logits, rows: streams.count * options.sequence,
                                         classes: model.configuration.vocabulary.count, targets: y, gradient: &dLogits).loss
        return BatchLoss(sum: Double(l), count: 1)
    }

    func backward(_ k: Int) {
        model.model.backward(tokens: x, batch: streams.count, steps: options.sequence, outputGradient: dLogits,
                             workspace: workspace, arena: arena)
    }

    func stepTaken(_ k: Int) { swap(&hidden, &next) }

    func tokens(in k: Int) -> Int { streams.count * options.sequence }

    /// The loss is a mean over this rank's streams·T characters.
    func gradientTerms(_ k: Int, loss: BatchLoss) -> Int { streams.count * options.sequence }

    /// Every rank's streams' state, in stream order, into `wholeHidden`.
    func gatherState(_ parallel: DataParallel) throws {
        let stack = model.model.stack
        let blocks = stack.layers * stack.directions, s = stack.stateSize, b = options.batch
        let shares = (0..<parallel.size).map { DataParallel.share(of: b, rank: $0, size: parallel.size) }
        let byRank = try parallel.gather(hidden, counts: shares.map { $0.count * blocks * s })
        // (rank, L·dirs, streams, S) → (L·dirs, B, S).
        var whole = [Float](repeating: 0, count: blocks * b * s)
        var from = 0
        for share in shares {
            for block in 0..<blocks {
                let to = (block * b + share.lowerBound) * s, n = share.count * s
                whole[to..<(to + n)] = byRank[from..<(from + n)]
                from += n
            }
        }
        gatheredHidden = whole
    }

    /// Every stream's state, (L·dirs, B, S): what a checkpoint saves. Setting it (a resume)
    /// keeps this rank's streams.
    var wholeHidden: [Float] {
        get { parallel == nil ? hidden : gatheredHidden }
        set {
            let stack = model.model.stack
            let s = stack.stateSize, b = options.batch
            hidden = (0..<(stack.layers * stack.directions)).flatMap { block in
                newValue[((block * b + streams.lowerBound) * s)..<((block * b + streams.upperBound) * s)]
            }
        }
    }

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
