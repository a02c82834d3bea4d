import Foundation
import Recurrent

/// How to train a sequence task (`rnn fit`).
public struct TaskTrainingOptions: Sendable {
    public var kind: SequenceTaskKind
    public var tokenization: Tokenization = .char
    /// Word tokens keep their case (`--keep-case`); by default they are lowercased.
    public var keepCase = false
    public var cell: CellKind = .lstm
    public var hiddenSize = 128
    /// An LSTM's projected output width; nil for none.
    public var projectedSize: Int?
    public var layers = 1
    public var embeddingSize = 64
    public var bidirectional = false
    public var pooling: Pooling = .final
    /// dot, general or additive, for seq2seq.
    public var attention: String?
    /// At most this many passes; early stopping (`patience`) usually ends the run first.
    public var epochs = 100
    public var batch = 32
    public var learningRate: Float = 2e-3
    /// The learning rate is multiplied by this after every epoch (1: constant); used when
    /// `schedule` is nil.
    public var learningRateDecay: Float = 1
    /// How the learning rate moves; nil: step decay by `learningRateDecay` every epoch.
    public var schedule: LearningRateSchedule? = .plateau(factor: 0.5, patience: 2)
    public var optimizer: OptimizerKind = .adam
    /// Stop after this many epochs without a better monitored validation value.
    public var patience: Int? = 5
    /// What picks the best checkpoint and drives early stopping: the validation loss, or
    /// `.metric("accuracy")` (classify, tag, seq2seq and caption).
    public var monitor: Monitor = .loss
    public var clip: Float = 5
    /// Dropout between stacked layers (PyTorch's nn.LSTM(dropout:)); seq2seq and caption also
    /// drop the head's input with it.
    public var dropout: Float = 0
    /// classify, regress, tag: dropout on the head's input (`--output-dropout`), the top layer's
    /// outputs for tag, the pooled vector otherwise.
    public var outputDropout: Float = 0
    /// classify, regress, tag: DropConnect on every W_hh (`--weight-drop`, `RecurrentStack.weightDrop`).
    public var weightDrop: Float = 0
    /// Evaluate and keep an exponential moving average of the weights with this decay (`--ema`,
    /// `TrainerOptions.averageDecay`); nil for none.
    public var averageDecay: Float?
    /// The precision of the training steps' matrix products (`--matmul-precision`,
    /// `TrainerOptions.matmulPrecision`).
    public var matmulPrecision: GEMM.MatmulPrecision = .fp32
    public var seed: UInt64 = 1
    /// Held out of the training file when no validation file is given.
    public var validationFraction = 0.1
    public var onError: OnError = .stop

    /// The defaults for `kind`, chosen to work without tuning: up to 100 epochs, ended by early
    /// stopping after 5 without a better validation value; the learning rate halved after 2;
    /// seq2seq with general attention, judged (best checkpoint, stopping) by its accuracy.
    public init(kind: SequenceTaskKind) {
        self.kind = kind
        if kind == .seq2seq { attention = "general" }
        if [.seq2seq, .caption].contains(kind) { monitor = .metric("accuracy") }
    }

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
        try check(outputDropout >= 0 && outputDropout < 1, "output-dropout", outputDropout, "0 <= p < 1")
        try check(outputDropout == 0 || ![.seq2seq, .caption].contains(kind), "output-dropout", outputDropout,
                  "none for \(kind.rawValue) (--dropout already drops its head's input)")
        try check(weightDrop >= 0 && weightDrop < 1, "weight-drop", weightDrop, "0 <= p < 1")
        try check(weightDrop == 0 || ![.seq2seq, .caption].contains(kind), "weight-drop", weightDrop,
                  "none for \(kind.rawValue) (classify, regress and tag only)")
        try check(averageDecay.map { $0 > 0 && $0 < 1 } ?? true, "ema", averageDecay ?? 0, "0 < d < 1")
        try check(validationFraction > 0 && validationFraction < 1, "validation fraction", validationFraction, "0 < f < 1")
        try check((patience ?? 1) >= 1, "patience", patience ?? 0, "at least 1")
        try schedule?.validate()
        if case .metric(let name) = monitor {
            try check(name == "accuracy" && kind != .regress, "monitor", name,
                      kind == .regress ? "loss (regress has no accuracy)" : "loss or accuracy")
        }
        if let projectedSize {
            try check(![.seq2seq, .caption].contains(kind), "proj-size", projectedSize,
                      "no projection for \(kind.rawValue) (its encoder and decoder share their widths)")
        }
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
    /// Why the run ended (completed, interrupted, early stopped).
    public let reason: TrainingOutcome.Reason
    public let bestValidationLoss: Double?
    public let trainingExamples: Int
    public let validationExamples: Int
    public let skippedLines: Int
}

/// Builds the network a spec describes.
/// `verify` sees the layout before the parameters are allocated (checkpoint loading checks the
/// file's tensors against it, so a small file cannot make us allocate a huge model).
/// `outputDropout` and `weightDrop` are for classify, regress and tag (`TaskTrainingOptions.validate`
/// refuses them for the others).
func makeTaskNetwork(_ spec: TaskSpecification, dropout: Float, outputDropout: Float = 0, weightDrop: Float = 0, seed: UInt64,
                     verify: (ParameterLayout) throws -> Void = { _ in }) throws -> any TaskNetwork {
    switch spec.kind {
    case .classify, .regress, .tag:
        return try SequenceTaskNetwork(spec: spec, dropout: dropout, outputDropout: outputDropout, weightDrop: weightDrop,
                                       seed: seed, verify: verify)
    case .seq2seq, .caption: return try Seq2SeqTaskNetwork(spec: spec, dropout: dropout, seed: seed, verify: verify)
    }
}

/// Trains a sequence task: length-bucketed batches, the optimiser on the schedule, clipping;
/// after every epoch the validation loss and accuracy, a line in metrics.jsonl, loss.svg,
/// best.safetensors (the best monitored value) and last.safetensors (with everything a
/// `resume` needs), each written atomically. The loop is the core's `Trainer`.
public final class TaskTrainer {
    public let options: TaskTrainingOptions
    public let spec: TaskSpecification
    let task: SequenceTrainingTask
    let trainer: Trainer<SequenceTrainingTask>
    let folder: RunFolder
    let dataPath: String
    let validationPath: String?
    let skipped: Int
    public var output: String { folder.path }
    /// Steps taken so far (a resumed run starts past 0).
    public var step: Int { trainer.step }
    public var totalSteps: Int { trainer.options.totalSteps }
    public var stepsPerEpoch: Int { task.stepsPerEpoch }
    /// The optimiser; its learning rate may be changed between steps (the schedule sets it when it moves).
    public var optimizer: any Optimizer { trainer.optimizer }
    /// The network's parameters.
    public var arena: ParameterArena { task.arena }
    /// The batches of an epoch: ranges of the length-sorted training examples.
    func buckets() -> [Range<Int>] { task.batches }

    /// - Throws: bad options, unreadable or unsuitable data (file and line named), or an output
    ///   folder that another run holds or that already holds a checkpoint.
    /// - Parameter parallel: a data-parallel run: this rank trains on its share of every batch's
    ///   examples (`--batch` stays the global batch); only rank 0 writes into `output`.
    public convenience init(data: String, validation validationPath: String?, options: TaskTrainingOptions, output: String,
                            parallel: DataParallel? = nil) throws {
        try self.init(data: data, validation: validationPath, options: options, parallel: parallel) {
            let folder = try RunFolder.forRank(output, parallel: parallel)
            if parallel?.isPrimary ?? true, folder.holdsCheckpoint {
                throw RecurrentError.invalidArgument(name: "output folder", value: output,
                                                     expected: "a folder without a checkpoint (it holds last.safetensors; "
                                                     + "continue it with --resume \(output), or choose another --out)")
            }
            return folder
        }
    }

    /// `folder` hands over the run's folder, locked, once everything else is checked.
    private init(data: String, validation validationPath: String?, options: TaskTrainingOptions, parallel: DataParallel?,
                 folder makeFolder: () throws -> RunFolder) throws {
        try options.validate()
        self.options = options
        dataPath = data
        self.validationPath = validationPath
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
                                               tokenization: options.tokenization, keepCase: options.keepCase)
        spec.cell = options.cell
        spec.hiddenSize = options.hiddenSize
        spec.projectedSize = options.projectedSize
        spec.layers = options.layers
        spec.embeddingSize = options.embeddingSize
        spec.bidirectional = options.bidirectional
        spec.pooling = options.pooling
        spec.attention = options.attention
        self.spec = spec
        let training = try trainExamples.map { try spec.encode($0, path: data, withTarget: true) }
        let validation = try validExamples.map { try spec.encode($0, path: validPath, withTarget: true) }
        self.skipped = skipped
        let network = try makeTaskNetwork(spec, dropout: options.dropout, outputDropout: options.outputDropout,
                                          weightDrop: options.weightDrop, seed: rng.next())
        task = SequenceTrainingTask(network: network, training: training, validation: validation,
                                    batch: options.batch, parallel: parallel, rng: &rng)
        var trainerOptions = TrainerOptions(totalSteps: options.epochs * task.stepsPerEpoch, evaluateEvery: task.stepsPerEpoch,
                                            learningRate: options.learningRate)
        trainerOptions.schedule = options.schedule
            ?? (options.learningRateDecay == 1 ? .constant : .stepDecay(every: task.stepsPerEpoch, gamma: options.learningRateDecay))
        trainerOptions.clip = options.clip
        trainerOptions.patience = options.patience
        trainerOptions.monitor = options.monitor
        trainerOptions.averageDecay = options.averageDecay
        trainerOptions.matmulPrecision = options.matmulPrecision
        trainer = Trainer(task: task, optimizer: options.optimizer.make(arena: network.arena, learningRate: options.learningRate),
                          options: trainerOptions, rng: rng)
        trainer.dataParallel = parallel
        folder = try makeFolder()
        trainer.observers = [CheckpointWriter(
            folder: folder, chartTitle: "\(spec.kind.rawValue) (\(spec.cell.displayName))", yLabel: "loss",
            encodeBest: { [unowned self] r in
                TaskCheckpoint.encode(spec: spec, arena: network.arena, extra: [
                    "training": "{\"epoch\": \(r.step / task.stepsPerEpoch)\(r.evaluation?.loss.map { ", \"val_loss\": \($0)" } ?? "")}",
                ])
            },
            encodeLast: { [unowned self] in encodeLast() })]
    }

    /// Continues the run saved in `folder` on the same data: the options come from its last
    /// checkpoint; `epochs`, when given, sets a new total.
    /// - Throws: a folder without a resumable last checkpoint (one written before `fit` saved
    ///   its training state can be used for prediction only), or data that is not the run's.
    /// - Parameter parallel: continue as a data-parallel run, on any number of ranks.
    public convenience init(resume folder: String, epochs: Int? = nil, learningRate: Float? = nil,
                            parallel: DataParallel? = nil) throws {
        guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("last.safetensors")) else {
            throw RecurrentError.io(path: folder, reason: "no last.safetensors to resume from")
        }
        // The lock before the files are read: a run still going in `folder` is refused.
        let locked = try RunFolder.forRank(folder, create: false, parallel: parallel)
        let path = locked.lastPath
        let file = try SafetensorsFile(contentsOf: path)
        if file.metadata["config"] != nil {
            throw RecurrentError.invalidFile(path: path, reason: "a run of rnn train, with no training state for rnn fit: "
                                             + "continue it with rnn train --resume \(folder)")
        }
        guard let json = file.metadata["training"],
              let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let saved = object["options"] as? [String: Any] else {
            throw RecurrentError.invalidFile(path: path, reason: "no training state to resume from (written by an older rnn fit); "
                                             + "it can be used with rnn predict and rnn evaluate")
        }
        let (spec, savedNetwork) = try TaskCheckpoint.load(file)
        var options = try TaskTrainingOptions(saved: saved, spec: spec, path: path)
        if let epochs { options.epochs = epochs }
        if let learningRate { options.learningRate = learningRate }
        guard let data = object["data"] as? String else { throw RecurrentError.invalidFile(path: path, reason: "training state lacks \"data\"") }
        try self.init(data: data, validation: object["valid"] as? String, options: options, parallel: parallel) { locked }
        guard self.spec.json == spec.json, task.training.count == object["training_examples"] as? Int else {
            throw RecurrentError.invalidFile(path: data, reason: "this is not the data the run in \(folder) was trained on")
        }
        task.network.arena.values.update(from: savedNetwork.arena.values, count: savedNetwork.arena.count)
        try trainer.restore(from: Checkpoint(file))
        let order = try file.integers("train.order").map { Int($0) }
        guard order.count == task.stepsPerEpoch, Set(order) == Set(0..<task.stepsPerEpoch) else {
            throw RecurrentError.invalidFile(path: path, reason: "train.order is not an order of the \(task.stepsPerEpoch) batches")
        }
        task.order = order
    }

    public func run(shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in }) throws -> TaskTrainingSummary {
        try folder.lock()
        defer { folder.unlock() }
        let outcome = try trainer.run(shouldStop: shouldStop, report: report)
        return TaskTrainingSummary(epochs: outcome.steps / task.stepsPerEpoch, steps: outcome.steps,
                                   interrupted: outcome.reason == .interrupted, reason: outcome.reason,
                                   bestValidationLoss: options.monitor == .loss ? outcome.best : nil,
                                   trainingExamples: task.training.count, validationExamples: task.validation.count,
                                   skippedLines: skipped)
    }

    func encodeLast() -> Data {
        var fields: [(String, String)] = [("epoch", "\(trainer.step / task.stepsPerEpoch)"), ("format", "2")]
        fields += trainer.stateFields()
        fields += [("options", options.json), ("data", JSONText.string(dataPath))]
        if let validationPath { fields.append(("valid", JSONText.string(validationPath))) }
        fields.append(("training_examples", "\(task.training.count)"))
        let training = "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        return TaskCheckpoint.encode(spec: spec, arena: task.network.arena, extra: ["training": training],
                                     entries: trainer.stateEntries() + [
                                         .init("train.order", shape: [task.order.count], words: task.order.map { UInt64($0) }),
                                     ])
    }
}

extension TaskTrainingOptions {
    /// What a resume needs beyond the spec, as JSON (keys in a fixed order).
    var json: String {
        var fields: [(String, String)] = [
            ("epochs", "\(epochs)"), ("batch", "\(batch)"), ("optimizer", JSONText.string(optimizer.rawValue)),
            ("learning_rate", "\(Double(learningRate))"), ("lr_decay", "\(Double(learningRateDecay))"),
        ]
        if let schedule { fields.append(("schedule", schedule.json)) }
        if let patience { fields.append(("patience", "\(patience)")) }
        if case .metric(let name) = monitor { fields.append(("monitor", JSONText.string(name))) }
        fields += [("clip", "\(Double(clip))"), ("dropout", "\(Double(dropout))")]
        // Only when set: a run without it writes the bytes it always wrote.
        if outputDropout > 0 { fields.append(("output_dropout", "\(Double(outputDropout))")) }
        if weightDrop > 0 { fields.append(("weight_drop", "\(Double(weightDrop))")) }
        if let averageDecay { fields.append(("ema", "\(Double(averageDecay))")) }
        if matmulPrecision != .fp32 { fields.append(("matmul_precision", JSONText.string(matmulPrecision.rawValue))) }
        fields += [("seed", JSONText.string("\(seed)")),
                   ("val_fraction", "\(validationFraction)"), ("on_error", JSONText.string(onError.rawValue))]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The options a run saved, with the model's shape from its spec.
    init(saved o: [String: Any], spec: TaskSpecification, path: String) throws {
        func bad(_ key: String) -> RecurrentError { .invalidFile(path: path, reason: "training state: bad or missing \"\(key)\"") }
        self.init(kind: spec.kind)
        tokenization = spec.tokenization
        keepCase = !spec.lowercase
        cell = spec.cell
        hiddenSize = spec.hiddenSize
        projectedSize = spec.projectedSize
        layers = spec.layers
        embeddingSize = spec.embeddingSize
        bidirectional = spec.bidirectional
        pooling = spec.pooling
        attention = spec.attention
        guard let e = o["epochs"] as? Int else { throw bad("epochs") }
        guard let b = o["batch"] as? Int else { throw bad("batch") }
        guard let opt = (o["optimizer"] as? String).flatMap(OptimizerKind.init(rawValue:)) else { throw bad("optimizer") }
        guard let lr = o["learning_rate"] as? Double, let decay = o["lr_decay"] as? Double else { throw bad("learning_rate") }
        guard let c = o["clip"] as? Double, let d = o["dropout"] as? Double else { throw bad("clip") }
        guard let s = (o["seed"] as? String).flatMap(UInt64.init) else { throw bad("seed") }
        guard let f = o["val_fraction"] as? Double else { throw bad("val_fraction") }
        guard let onError = (o["on_error"] as? String).flatMap(OnError.init(rawValue:)) else { throw bad("on_error") }
        (epochs, batch, optimizer, learningRate, learningRateDecay) = (e, b, opt, Float(lr), Float(decay))
        (clip, dropout, seed, validationFraction, self.onError) = (Float(c), Float(d), s, f, onError)
        // A run saved before --output-dropout, or without it, has none.
        if o["output_dropout"] != nil {
            guard let p = o["output_dropout"] as? Double else { throw bad("output_dropout") }
            outputDropout = Float(p)
        }
        if o["weight_drop"] != nil {
            guard let p = o["weight_drop"] as? Double else { throw bad("weight_drop") }
            weightDrop = Float(p)
        }
        if o["ema"] != nil {
            guard let d = o["ema"] as? Double else { throw bad("ema") }
            averageDecay = Float(d)
        }
        if o["matmul_precision"] != nil {
            guard let p = (o["matmul_precision"] as? String).flatMap(GEMM.MatmulPrecision.init(rawValue:)) else {
                throw bad("matmul_precision")
            }
            matmulPrecision = p
        }
        // What the run saved, not today's defaults: a run saved without them had none.
        schedule = nil
        if let schedule = o["schedule"] as? [String: Any] {
            do { self.schedule = try LearningRateSchedule(json: schedule) } catch { throw bad("schedule") }
        }
        patience = o["patience"] as? Int
        monitor = .loss
        if let name = o["monitor"] as? String { monitor = .metric(name) }
    }
}
