import Foundation
import Recurrent

/// How to train a sequence task (`rnn fit`).
public struct TaskTrainingOptions: Sendable {
    public var kind: SequenceTaskKind
    public var tokenization: Tokenization = .char
    public var cell: CellKind = .lstm
    public var hiddenSize = 128
    public var layers = 1
    public var embeddingSize = 64
    public var bidirectional = false
    public var pooling: Pooling = .final
    /// dot, general or additive, for seq2seq.
    public var attention: String?
    public var epochs = 10
    public var batch = 32
    public var learningRate: Float = 2e-3
    /// The learning rate is multiplied by this after every epoch (1: constant).
    public var learningRateDecay: Float = 1
    public var clip: Float = 5
    public var dropout: Float = 0
    public var seed: UInt64 = 1
    /// Held out of the training file when no validation file is given.
    public var validationFraction = 0.1
    public var onError: OnError = .stop

    public init(kind: SequenceTaskKind) { self.kind = kind }

    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            try require(ok, .invalidArgument(name: name, value: "\(value)", expected: expected))
        }
        try check(hiddenSize >= 1 && hiddenSize <= 65_536, "hidden", hiddenSize, "1...65536")
        try check(layers >= 1 && layers <= 64, "layers", layers, "1...64")
        try check(embeddingSize >= 1 && embeddingSize <= 65_536, "embedding", embeddingSize, "1...65536")
        try check(epochs >= 1 && epochs <= 1_000_000, "epochs", epochs, "at least 1")
        try check(batch >= 1 && batch <= 100_000, "batch", batch, "1...100000")
        try check(learningRate > 0 && learningRate.isFinite, "lr", learningRate, "a positive number")
        try check(clip >= 0 && clip.isFinite, "clip", clip, "0 (off) or a positive number")
        try check(learningRateDecay > 0 && learningRateDecay <= 1, "lr-decay", learningRateDecay, "0 < d <= 1")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "0 <= p < 1")
        try check(validationFraction > 0 && validationFraction < 1, "validation fraction", validationFraction, "0 < f < 1")
        if let attention {
            try check(kind == .seq2seq, "attention", attention, "no attention for \(kind.rawValue) (seq2seq only)")
            try check(["dot", "general", "additive"].contains(attention), "attention", attention, "dot, general or additive")
        }
    }
}

public struct TaskTrainingSummary: Sendable {
    public let epochs: Int
    public let steps: Int
    public let interrupted: Bool
    public let bestValidationLoss: Double?
    public let trainingExamples: Int
    public let validationExamples: Int
    public let skippedLines: Int
}

/// Builds the network a spec describes.
/// `verify` sees the layout before the parameters are allocated (checkpoint loading checks the
/// file's tensors against it, so a small file cannot make us allocate a huge model).
func makeTaskNetwork(_ spec: TaskSpecification, dropout: Float, seed: UInt64,
                     verify: (ParameterLayout) throws -> Void = { _ in }) throws -> any TaskNetwork {
    switch spec.kind {
    case .classify, .regress, .tag: return try SequenceTaskNetwork(spec: spec, dropout: dropout, seed: seed, verify: verify)
    case .seq2seq, .caption: return try Seq2SeqTaskNetwork(spec: spec, dropout: dropout, seed: seed, verify: verify)
    }
}

/// Trains a sequence task: length-bucketed batches, Adam, clipping; after every epoch the
/// validation loss, a line in metrics.jsonl, loss.svg, best.safetensors (lowest validation loss)
/// and last.safetensors, each written atomically.
public final class TaskTrainer {
    public let options: TaskTrainingOptions
    public let spec: TaskSpecification
    public let output: String
    let network: any TaskNetwork
    let optimizer: Adam
    let training: [EncodedExample]
    let validation: [EncodedExample]
    let skipped: Int
    var rng: SeededGenerator
    var history: [(step: Int, train: Double, validation: Double?)] = []

    /// - Throws: bad options, unreadable or unsuitable data (file and line named), or an output
    ///   folder that already holds a checkpoint.
    public init(data: String, validation validationPath: String?, options: TaskTrainingOptions, output: String) throws {
        try options.validate()
        if FileManager.default.fileExists(atPath: (output as NSString).appendingPathComponent("last.safetensors")) {
            throw RecurrentError.invalidArgument(name: "output folder", value: output,
                                                 expected: "a folder without a checkpoint (it holds last.safetensors; choose another --out)")
        }
        self.options = options
        self.output = output
        var rng = SeededGenerator(seed: options.seed)
        let dataset = try JSONLDataset(contentsOf: data, requireTarget: true, onError: options.onError)
        var trainExamples = dataset.examples
        var validExamples: [Example]
        var validPath = data
        var skipped = dataset.skipped.count
        if let validationPath {
            let v = try JSONLDataset(contentsOf: validationPath, requireTarget: true, onError: options.onError)
            validExamples = v.examples
            validPath = validationPath
            skipped += v.skipped.count
        } else {
            // A seeded 10% of the data, held out.
            trainExamples.shuffle(using: &rng)
            let n = max(1, Int(Double(trainExamples.count) * options.validationFraction))
            guard trainExamples.count > n else {
                throw RecurrentError.invalidFile(path: data, reason: "\(trainExamples.count) example(s): too few to hold out a validation set; give --valid FILE")
            }
            validExamples = Array(trainExamples.prefix(n))
            trainExamples.removeFirst(n)
        }
        var spec = try TaskSpecification.build(kind: options.kind, examples: trainExamples, path: data,
                                               tokenization: options.tokenization)
        spec.cell = options.cell
        spec.hiddenSize = options.hiddenSize
        spec.layers = options.layers
        spec.embeddingSize = options.embeddingSize
        spec.bidirectional = options.bidirectional
        spec.pooling = options.pooling
        spec.attention = options.attention
        self.spec = spec
        training = try trainExamples.map { try spec.encode($0, path: data, withTarget: true) }
        validation = try validExamples.map { try spec.encode($0, path: validPath, withTarget: true) }
        self.skipped = skipped
        network = try makeTaskNetwork(spec, dropout: options.dropout, seed: rng.next())
        optimizer = Adam(arena: network.arena, learningRate: options.learningRate)
        self.rng = rng
    }

    var lastPath: String { (output as NSString).appendingPathComponent("last.safetensors") }
    var bestPath: String { (output as NSString).appendingPathComponent("best.safetensors") }

    /// Batches of similar length: examples sorted by length (ties in a seeded order), cut into
    /// batches; the batch order is shuffled every epoch.
    func buckets() -> [Range<Int>] {
        stride(from: 0, to: training.count, by: options.batch).map { $0..<min($0 + options.batch, training.count) }
    }

    public func run(shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in }) throws -> TaskTrainingSummary {
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw RecurrentError.io(path: output, reason: "cannot create the output folder (\(SafetensorsFile.reason(error)))")
        }
        removeStaleTemporaries(in: output, names: ["last.safetensors", "best.safetensors", "loss.svg", "metrics.jsonl"])
        var order = Array(training.indices)
        order.shuffle(using: &rng)
        order.sort { training[$0].length < training[$1].length }   // stable: the shuffle breaks ties
        let sorted = order.map { training[$0] }
        let batches = buckets()
        let total = options.epochs * batches.count
        var step = 0
        var best: Double?
        var interrupted = false
        let started = Date()
        var tokens = 0
        epochs: for epoch in 1...options.epochs {
            optimizer.learningRate = options.learningRate * Float(pow(Double(options.learningRateDecay), Double(epoch - 1)))
            var sum = 0.0, count = 0
            var batchOrder = Array(batches.indices)
            batchOrder.shuffle(using: &rng)
            for index in batchOrder {
                if shouldStop() { interrupted = true; break epochs }
                let batch = sorted[batches[index]]
                network.arena.zeroGradients()
                let (s, n) = try network.loss(batch, training: true, rng: &rng)
                guard s.isFinite else { throw RecurrentError.divergence(step: step + 1, loss: Float(s / Double(max(n, 1)))) }
                if options.clip > 0 { GradientClipping.clip(network.arena, maxNorm: options.clip) }
                optimizer.step(network.arena)
                sum += s
                count += n
                step += 1
                tokens += batch.reduce(0) { $0 + $1.length }
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(tokens) / max(elapsed, 1e-9)
                report(.step(step: step, total: total, epoch: Double(step) / Double(batches.count), loss: sum / Double(max(count, 1)),
                             tokensPerSecond: rate, secondsLeft: elapsed / Double(step) * Double(total - step)))
            }
            // A finite loss can still be followed by an optimiser step to infinite weights:
            // stop here rather than overwrite the last good checkpoint with them.
            guard parametersAreFinite(network.arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
            let trainLoss = sum / Double(max(count, 1))
            let validationLoss = try evaluateLoss()
            let improved = best.map { validationLoss < $0 } ?? true
            if improved { best = validationLoss }
            history.append((step, trainLoss, validationLoss))
            try appendMetrics(epoch: epoch, step: step, train: trainLoss, validation: validationLoss,
                              elapsed: Date().timeIntervalSince(started))
            try writeAtomically(Data(chart().utf8), to: (output as NSString).appendingPathComponent("loss.svg"))
            if improved { try writeCheckpoint(to: bestPath, epoch: epoch, validation: validationLoss) }
            try writeCheckpoint(to: lastPath, epoch: epoch, validation: validationLoss)
            report(.evaluation(step: step, trainLoss: trainLoss, validationLoss: validationLoss, improved: improved))
        }
        if interrupted || history.isEmpty {
            guard parametersAreFinite(network.arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
            try writeCheckpoint(to: lastPath, epoch: history.count, validation: nil)
        }
        return TaskTrainingSummary(epochs: history.count, steps: step, interrupted: interrupted, bestValidationLoss: best,
                                   trainingExamples: training.count, validationExamples: validation.count, skippedLines: skipped)
    }

    /// Mean loss over the validation set, dropout off.
    func evaluateLoss() throws -> Double {
        var noDropout = SeededGenerator(seed: 0)
        var sum = 0.0, count = 0
        for start in stride(from: 0, to: validation.count, by: options.batch) {
            let (s, n) = try network.loss(validation[start..<min(start + options.batch, validation.count)], training: false,
                                      rng: &noDropout)
            sum += s
            count += n
        }
        return sum / Double(max(count, 1))
    }

    func appendMetrics(epoch: Int, step: Int, train: Double, validation: Double, elapsed: Double) throws {
        let line = "{\"epoch\": \(epoch), \"step\": \(step), \"train_loss\": \(train), \"val_loss\": \(validation), "
            + "\"elapsed_seconds\": \((elapsed * 1000).rounded() / 1000)}"
        try appendLine(line, to: (output as NSString).appendingPathComponent("metrics.jsonl"))
    }

    func chart() -> String {
        LineChart.document([LineChart(title: "\(spec.kind.rawValue) (\(spec.cell.displayName))", xLabel: "step", yLabel: "loss",
                                      series: [.init(name: "train", points: history.map { (Double($0.step), $0.train) }),
                                               .init(name: "validation", points: history.compactMap { h in h.validation.map { (Double(h.step), $0) } })])])
    }

    func writeCheckpoint(to path: String, epoch: Int, validation: Double?) throws {
        try writeAtomically(TaskCheckpoint.encode(spec: spec, arena: network.arena,
                                                  extra: ["training": "{\"epoch\": \(epoch)\(validation.map { ", \"val_loss\": \($0)" } ?? "")}"]),
                            to: path)
    }
}

/// Task checkpoints: the arena's tensors (PyTorch-style names) and the spec as `task` metadata.
public enum TaskCheckpoint {
    static func encode(spec: TaskSpecification, arena: ParameterArena, extra: [String: String]) -> Data {
        let entries = arena.parameters.map { p in
            SafetensorsFile.Entry(p.name, shape: p.cols == 1 ? [p.rows] : [p.rows, p.cols],
                                  floats: Array(UnsafeBufferPointer(start: arena.value(p), count: p.count)))
        }
        return SafetensorsFile.encode(entries, metadata: extra.merging(["task": spec.json]) { a, _ in a })
    }

    /// Loads a task checkpoint.
    /// - Throws: `RecurrentError.invalidFile` for another kind of checkpoint, a spec that does not
    ///   match the tensors, or non-finite weights.
    static func load(_ path: String) throws -> (TaskSpecification, any TaskNetwork) {
        try load(SafetensorsFile(contentsOf: path))
    }

    /// Loads a parsed task checkpoint (`file.path` names it in errors).
    static func load(_ file: SafetensorsFile) throws -> (TaskSpecification, any TaskNetwork) {
        let path = file.path
        guard let json = file.metadata["task"] else {
            let what = file.metadata["config"] != nil ? "a character language model (use rnn sample or rnn score)"
                                                       : "not a checkpoint written by rnn fit"
            throw RecurrentError.invalidFile(path: path, reason: "no \"task\" metadata: \(what)")
        }
        let spec = try TaskSpecification(json: json, path: path)
        // Each recurrent layer has at least two tensors: refuse a layer count the file cannot
        // hold before building the layout (whose cost grows with it).
        guard spec.layers <= file.tensors.count / 2 else {
            throw RecurrentError.invalidFile(path: path, reason: "the task metadata says \(spec.layers) layers, "
                                             + "but the file holds only \(file.tensors.count) tensors")
        }
        let network = try makeTaskNetwork(spec, dropout: 0, seed: 0) { layout in
            for p in layout.parameters {
                guard let t = file[p.name] else { throw RecurrentError.invalidFile(path: path, reason: "missing tensor '\(p.name)'") }
                let expected = p.cols == 1 ? [p.rows] : [p.rows, p.cols]
                guard t.shape == expected else {
                    throw RecurrentError.invalidFile(path: path, reason: "tensor '\(p.name)' has shape \(t.shape), the task metadata needs \(expected)")
                }
            }
        }
        for p in network.arena.parameters {
            let values = try file.floats(p.name)
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw RecurrentError.invalidFile(path: path, reason: "tensor '\(p.name)' holds \(values[i]) at index \(i); weights must be finite")
            }
            values.withUnsafeBufferPointer { network.arena.value(p).update(from: $0.baseAddress!, count: p.count) }
        }
        return (spec, network)
    }
}
