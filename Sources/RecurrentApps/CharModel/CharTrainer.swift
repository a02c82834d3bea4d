import Foundation
import Recurrent

/// How to train a character model (`rnn train`): char-rnn's defaults.
public struct CharTrainingOptions: Sendable, Equatable {
    public var cell: CellKind = .lstm
    public var hiddenSize = 128
    /// An LSTM's projected output width (`--proj-size`); nil for none.
    public var projectedSize: Int?
    public var layers = 2
    /// E; nil means H.
    public var embeddingSize: Int?
    public var batch = 50
    public var sequence = 50
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 2e-3
    /// How the learning rate moves during the run.
    public var schedule: LearningRateSchedule = .constant
    /// Stop after this many evaluations without a lower validation loss.
    public var patience: Int?
    /// Global-norm clipping threshold; 0 turns clipping off.
    public var clip: Float = 5
    /// Dropout between stacked layers (PyTorch's nn.LSTM(dropout:)).
    public var dropout: Float = 0
    /// Dropout on the top layer's output before the head (char-rnn's), `--output-dropout`.
    public var outputDropout: Float = 0
    /// DropConnect on every W_hh (AWD-LSTM's weight drop), `--weight-drop`.
    public var weightDrop: Float = 0
    /// Evaluate and keep an exponential moving average of the weights with this decay (`--ema`,
    /// `TrainerOptions.averageDecay`); nil for none.
    public var averageDecay: Float?
    /// The precision of the training steps' matrix products (`--matmul-precision`,
    /// `TrainerOptions.matmulPrecision`).
    public var matmulPrecision: GEMM.MatmulPrecision = .fp32
    public var epochs = 10
    /// Total optimiser steps; when set, it wins over `epochs`.
    public var steps: Int?
    public var validationFraction = 0.1
    /// Validation every this many steps; nil means once per epoch (at most every 1000 steps).
    public var evaluateEvery: Int?
    public var seed: UInt64 = 1

    public init() {}

    /// - Throws: `RecurrentError.invalidArgument` naming the bad option.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            try require(ok, .invalidArgument(name: name, value: "\(value)", expected: expected))
        }
        try check(hiddenSize >= 1 && hiddenSize <= 65_536, "hidden", hiddenSize, "1...65536")
        try check(layers >= 1 && layers <= 64, "layers", layers, "1...64")
        try check((embeddingSize ?? 1) >= 1 && (embeddingSize ?? 1) <= 65_536, "embedding", embeddingSize ?? 0, "1...65536")
        try check(batch >= 1 && batch <= 100_000, "batch", batch, "1...100000")
        try check(sequence >= 1 && sequence <= 100_000, "seq", sequence, "1...100000")
        try check(learningRate > 0 && learningRate.isFinite, "lr", learningRate, "a positive number")
        try check(clip >= 0 && clip.isFinite, "clip", clip, "0 (off) or a positive number")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "0 <= p < 1")
        try check(outputDropout >= 0 && outputDropout < 1, "output-dropout", outputDropout, "0 <= p < 1")
        try check(weightDrop >= 0 && weightDrop < 1, "weight-drop", weightDrop, "0 <= p < 1")
        try check(averageDecay.map { $0 > 0 && $0 < 1 } ?? true, "ema", averageDecay ?? 0, "0 < d < 1")
        try check(epochs >= 1, "epochs", epochs, "at least 1")
        try check((steps ?? 1) >= 1, "steps", steps ?? 0, "at least 1")
        try check(validationFraction >= 0 && validationFraction < 1, "val-fraction", validationFraction, "0 <= f < 1")
        try check((evaluateEvery ?? 1) >= 1, "eval-every", evaluateEvery ?? 0, "at least 1")
        try check((patience ?? 1) >= 1, "patience", patience ?? 0, "at least 1")
        try schedule.validate()
    }
}

public struct CharTrainingSummary: Sendable {
    public let steps: Int
    public let interrupted: Bool
    /// Why the run ended (completed, interrupted, early stopped).
    public let reason: TrainingOutcome.Reason
    public let lastValidationLoss: Double?
    public let bestValidationLoss: Double?
    public let lastCheckpoint: String
}

/// Trains a character model on a text with truncated BPTT: B contiguous streams through the
/// training text, chunks of T characters, the hidden state carried from chunk to chunk and
/// reset at the start of every epoch. The last `validationFraction` of the text is held out.
/// The loop is the core's `Trainer`; this class sets it up (`CharModelTask`) and keeps the
/// output folder (`RunFolder`, locked for the run).
///
/// Writes into the output folder: metrics.jsonl (a line per evaluation), loss.svg,
/// best.safetensors (best validation loss) and last.safetensors (everything needed to continue
/// exactly: weights, optimiser moments and step, random state, data position, hidden state).
/// Every file is written atomically. Resuming N steps into a run gives the same last
/// checkpoint, byte for byte, as running straight through.
public final class CharTrainer {
    public let options: CharTrainingOptions
    public let textPath: String
    public let model: CharLanguageModel
    let task: CharModelTask
    let trainer: Trainer<CharModelTask>
    let folder: RunFolder
    public var output: String { folder.path }
    public var stepsPerEpoch: Int { task.stepsPerEpoch }
    public var totalSteps: Int { trainer.options.totalSteps }
    public var evaluateEvery: Int { trainer.options.evaluateEvery }
    public var step: Int { trainer.step }
    /// The optimiser; its learning rate may be changed between steps (the schedule sets it when it moves).
    public var optimizer: any Optimizer { trainer.optimizer }

    /// A new run. Nothing is written until `run` but the folder's lock.
    /// - Throws: bad options, an unreadable or unsuitable text, an output folder that another
    ///   run holds or that already holds a checkpoint (resume it instead, or choose another).
    /// - Parameter parallel: a data-parallel run: this rank trains on its share of the B streams
    ///   (`--batch` stays the global batch); only rank 0 writes into `output`.
    public convenience init(text textPath: String, options: CharTrainingOptions, output: String,
                            parallel: DataParallel? = nil) throws {
        try options.validate()
        let text = try TextFile.read(textPath)
        let vocabulary = Vocabulary(text: text)
        let config = CharModelConfiguration(cell: options.cell, vocabulary: vocabulary,
                                            embeddingSize: options.embeddingSize ?? options.hiddenSize,
                                            hiddenSize: options.hiddenSize, layers: options.layers,
                                            projectedSize: options.projectedSize)
        var rng = SeededGenerator(seed: options.seed)
        let model = try CharLanguageModel(configuration: config, dropout: options.dropout, outputDropout: options.outputDropout,
                                          weightDrop: options.weightDrop, seed: rng.next())
        try self.init(text: text, textPath: textPath, options: options, model: model, rng: rng, parallel: parallel) {
            let folder = try RunFolder.forRank(output, parallel: parallel)
            if parallel?.isPrimary ?? true, folder.holdsCheckpoint {
                throw RecurrentError.invalidArgument(name: "output folder", value: output,
                                                     expected: "a folder without a checkpoint (it holds last.safetensors: "
                                                     + "continue it with --resume \(output), or choose another --out)")
            }
            return folder
        }
    }

    /// `folder` hands over the run's folder, locked, once everything else is checked.
    private init(text: String, textPath: String, options: CharTrainingOptions, model: CharLanguageModel,
                 rng: SeededGenerator, parallel: DataParallel?, folder makeFolder: () throws -> RunFolder) throws {
        self.options = options
        self.textPath = textPath
        self.model = model
        task = try CharModelTask(model: model, text: text, textPath: textPath, options: options, parallel: parallel)
        var trainerOptions = TrainerOptions(totalSteps: options.steps ?? options.epochs * task.stepsPerEpoch,
                                            evaluateEvery: options.evaluateEvery ?? min(1000, task.stepsPerEpoch),
                                            learningRate: options.learningRate)
        trainerOptions.schedule = options.schedule
        trainerOptions.clip = options.clip
        trainerOptions.patience = options.patience
        trainerOptions.averageDecay = options.averageDecay
        trainerOptions.matmulPrecision = options.matmulPrecision
        trainer = Trainer(task: task, optimizer: options.optimizer.make(arena: model.arena, learningRate: options.learningRate),
                          options: trainerOptions, rng: rng)
        trainer.dataParallel = parallel
        folder = try makeFolder()
        let config = model.configuration
        trainer.observers = [CheckpointWriter(
            folder: folder, chartTitle: "\(config.cell.displayName) on \((textPath as NSString).lastPathComponent)",
            yLabel: "loss (nats per character)",
            encodeBest: { r in
                model.checkpoint(metadata: ["validation": "{\"step\": \(r.step), \"val_loss\": \(r.evaluation!.loss!)}"])
            },
            encodeLast: { [unowned self] in encodeLast() })]
    }

    /// Continues the run saved in `folder`: the model, options and training state come from its
    /// last checkpoint; `steps` or `epochs`, when given, set a new total.
    /// - Throws: a folder without last.safetensors, a checkpoint without training state, a
    ///   text that is not the one the run was trained on, or a run that another process holds.
    /// - Parameter parallel: continue as a data-parallel run, on any number of ranks.
    public convenience init(resume folder: String, text: String?, steps: Int?, epochs: Int?, learningRate: Float? = nil,
                            parallel: DataParallel? = nil) throws {
        guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("last.safetensors")) else {
            throw RecurrentError.io(path: folder, reason: "no last.safetensors to resume from")
        }
        // The lock before the files are read: a run still going in `folder` is refused.
        let locked = try RunFolder.forRank(folder, create: false, parallel: parallel)
        try self.init(resuming: SafetensorsFile(contentsOf: locked.lastPath), folder: folder, text: text, steps: steps,
                      epochs: epochs, learningRate: learningRate, lockedFolder: locked, parallel: parallel)
    }

    /// Continues from a parsed last checkpoint; `readText` reads the training text (a seam for tests).
    convenience init(resuming file: SafetensorsFile, folder: String, text: String?, steps: Int?, epochs: Int?,
                     learningRate: Float? = nil, lockedFolder: RunFolder? = nil, parallel: DataParallel? = nil,
                     readText: (String) throws -> String = TextFile.read) throws {
        let path = file.path
        if file.metadata["task"] != nil {
            throw RecurrentError.invalidFile(path: path, reason: "a run of rnn fit: continue it with rnn fit --resume \(folder)")
        }
        guard let training = file.metadata["training"],
              let object = try? JSONSerialization.jsonObject(with: Data(training.utf8)) as? [String: Any] else {
            throw RecurrentError.invalidFile(path: path, reason: "no training state: it can be sampled and scored, not resumed")
        }
        func field<T>(_ key: String, as _: T.Type) throws -> T {
            guard let v = object[key] as? T else {
                throw RecurrentError.invalidFile(path: path, reason: "training state lacks \"\(key)\"")
            }
            return v
        }
        /// A rate saved only when set: a run saved before its flag, or without it, has 0.
        func optionalRate(_ key: String) throws -> Float {
            guard let value = object[key] else { return 0 }
            guard let p = value as? Double else {
                throw RecurrentError.invalidFile(path: path, reason: "training state: \"\(key)\" is not a number")
            }
            return Float(p)
        }
        var options = CharTrainingOptions()
        options.outputDropout = try optionalRate("output_dropout")
        options.weightDrop = try optionalRate("weight_drop")
        let ema = try optionalRate("ema")
        options.averageDecay = ema > 0 ? ema : nil
        if let saved = object["matmul_precision"] {
            guard let name = saved as? String, let precision = GEMM.MatmulPrecision(rawValue: name) else {
                throw RecurrentError.invalidFile(path: path, reason: "training state: \"matmul_precision\" is not fp32 or bf16")
            }
            options.matmulPrecision = precision
        }
        let model = try CharLanguageModel(checkpoint: file, dropout: Float(try field("dropout", as: Double.self)),
                                          outputDropout: options.outputDropout, weightDrop: options.weightDrop)
        options.cell = model.configuration.cell
        options.hiddenSize = model.configuration.hiddenSize
        options.projectedSize = model.configuration.projectedSize
        options.layers = model.configuration.layers
        options.embeddingSize = model.configuration.embeddingSize
        guard let optimizerKind = OptimizerKind(rawValue: try field("optimizer", as: String.self)) else {
            throw RecurrentError.invalidFile(path: path, reason: "unknown optimizer in the training state")
        }
        options.optimizer = optimizerKind
        options.learningRate = try learningRate ?? Float(field("learning_rate", as: Double.self))
        do {
            options.schedule = try LearningRateSchedule(json: object["schedule"] as? [String: Any])
        } catch {
            throw RecurrentError.invalidFile(path: path, reason: "bad schedule in the training state")
        }
        options.patience = object["patience"] as? Int
        options.clip = Float(try field("clip", as: Double.self))
        options.dropout = Float(try field("dropout", as: Double.self))
        options.batch = try field("batch", as: Int.self)
        options.sequence = try field("seq_length", as: Int.self)
        options.validationFraction = try field("val_fraction", as: Double.self)
        options.evaluateEvery = try field("eval_every", as: Int.self)
        options.seed = UInt64(try field("seed", as: String.self)) ?? 0
        options.steps = steps ?? (object["total_steps"] as? Int)
        if let epochs { options.epochs = epochs; options.steps = steps }
        try options.validate()
        let textPath = try text ?? field("text", as: String.self)
        let contents = try readText(textPath)
        try self.init(text: contents, textPath: textPath, options: options, model: model, rng: SeededGenerator(seed: 0),
                      parallel: parallel) {
            try lockedFolder ?? RunFolder(folder, create: false)
        }
        guard String(task.textHash, radix: 16) == (try field("text_fnv1a", as: String.self)) else {
            throw RecurrentError.invalidFile(path: textPath, reason: "this is not the text the checkpoint in \(folder) was trained on")
        }
        // The step, random state, optimiser moments and best value, and the hidden state, exactly as saved.
        try trainer.restore(from: Checkpoint(file))
        let savedHidden = try file.floats("train.hidden")
        let wholeCount = model.model.stack.stateCount(batch: options.batch)
        guard savedHidden.count == wholeCount else {
            throw RecurrentError.invalidFile(path: path, reason: "train.hidden has \(savedHidden.count) values, expected \(wholeCount)")
        }
        if let i = savedHidden.firstIndex(where: { !$0.isFinite }) {
            throw RecurrentError.invalidFile(path: path, reason: "train.hidden holds \(savedHidden[i]) at index \(i); the state must be finite")
        }
        task.wholeHidden = savedHidden
        if object["best_score"] == nil, let best = try? SafetensorsFile(contentsOf: self.folder.bestPath),
           let json = best.metadata["validation"],
           let v = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["val_loss"] as? Double {
            trainer.bestScore = v   // a checkpoint from before the trainer saved its best value
        }
    }

    // MARK: Running

    /// Trains until the total number of steps, an early stop (`patience`), or until
    /// `shouldStop` returns true (then the last checkpoint is written and the summary says so).
    /// - Throws: `RecurrentError.divergence` if the loss, or the weights at a checkpoint, stop
    ///   being finite (the checkpoints on disk stay as they were), or a file that cannot be written.
    public func run(shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in })
        throws -> CharTrainingSummary {
        try folder.lock()
        defer { folder.unlock() }
        let outcome = try trainer.run(shouldStop: shouldStop, report: report)
        return CharTrainingSummary(steps: outcome.steps, interrupted: outcome.reason == .interrupted, reason: outcome.reason,
                                   lastValidationLoss: outcome.lastEvaluation?.loss, bestValidationLoss: trainer.bestScore,
                                   lastCheckpoint: folder.lastPath)
    }

    /// The training state as JSON, keys in a fixed order (checkpoint bytes must not vary).
    func trainingJSON() -> String {
        var fields: [(String, String)] = [("format", "1")]
        fields += trainer.stateFields()
        fields += [
            ("total_steps", "\(totalSteps)"), ("optimizer", SafetensorsFile.jsonString(options.optimizer.rawValue)),
            ("learning_rate", "\(Double(options.learningRate))"), ("schedule", options.schedule.json),
            ("clip", "\(Double(options.clip))"),
        ]
        if let patience = options.patience { fields.append(("patience", "\(patience)")) }
        fields.append(("dropout", "\(Double(options.dropout))"))
        // Only when set: a run without it writes the bytes it always wrote.
        if options.outputDropout > 0 { fields.append(("output_dropout", "\(Double(options.outputDropout))")) }
        if options.weightDrop > 0 { fields.append(("weight_drop", "\(Double(options.weightDrop))")) }
        if let decay = options.averageDecay { fields.append(("ema", "\(Double(decay))")) }
        if options.matmulPrecision != .fp32 {
            fields.append(("matmul_precision", SafetensorsFile.jsonString(options.matmulPrecision.rawValue)))
        }
        fields += [
            ("batch", "\(options.batch)"), ("seq_length", "\(options.sequence)"),
            ("val_fraction", "\(options.validationFraction)"), ("eval_every", "\(evaluateEvery)"),
            ("seed", SafetensorsFile.jsonString("\(options.seed)")), ("text", SafetensorsFile.jsonString(textPath)),
            ("text_characters", "\(task.trainIds.count + task.validationIds.count)"),
            ("text_fnv1a", SafetensorsFile.jsonString(String(task.textHash, radix: 16))),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    func encodeLast() -> Data {
        let stack = model.model.stack
        return model.checkpoint(metadata: ["training": trainingJSON()], state: trainer.stateEntries() + [
            .init("train.hidden", shape: [stack.layers * stack.directions, options.batch, stack.stateSize], floats: task.wholeHidden),
        ])
    }
}
