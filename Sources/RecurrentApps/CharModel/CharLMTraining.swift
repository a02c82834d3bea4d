import Foundation
import Recurrent

/// How to train a character model (`rnn train`): char-rnn's defaults.
public struct CharTrainingOptions: Sendable, Equatable {
    public var cell: CellKind = .lstm
    public var hiddenSize = 128
    public var layers = 2
    /// E; nil means H.
    public var embeddingSize: Int?
    public var batch = 50
    public var sequence = 50
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 2e-3
    /// Global-norm clipping threshold; 0 turns clipping off.
    public var clip: Float = 5
    public var dropout: Float = 0
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
        try check(epochs >= 1, "epochs", epochs, "at least 1")
        try check((steps ?? 1) >= 1, "steps", steps ?? 0, "at least 1")
        try check(validationFraction >= 0 && validationFraction < 1, "val-fraction", validationFraction, "0 <= f < 1")
        try check((evaluateEvery ?? 1) >= 1, "eval-every", evaluateEvery ?? 0, "at least 1")
    }
}

/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// After every step: smoothed training loss, throughput, and seconds left at that pace.
    case step(step: Int, total: Int, epoch: Double, loss: Double, tokensPerSecond: Double, secondsLeft: Double)
    /// After every evaluation.
    case evaluation(step: Int, trainLoss: Double, validationLoss: Double?, improved: Bool)
}

public struct CharTrainingSummary: Sendable {
    public let steps: Int
    public let interrupted: Bool
    public let lastValidationLoss: Double?
    public let bestValidationLoss: Double?
    public let lastCheckpoint: String
}

/// Trains a character model on a text with truncated BPTT: B contiguous streams through the
/// training text, chunks of T characters, the hidden state carried from chunk to chunk and
/// reset at the start of every epoch. The last `validationFraction` of the text is held out.
///
/// Writes into the output folder: metrics.jsonl (a line per evaluation), loss.svg,
/// best.safetensors (best validation loss) and last.safetensors (everything needed to continue
/// exactly: weights, optimiser moments and step, random state, data position, hidden state).
/// Every file is written atomically. Resuming N steps into a run gives the same last
/// checkpoint, byte for byte, as running straight through.
public final class CharTrainer {
    public let options: CharTrainingOptions
    public let textPath: String
    public let output: String
    public let model: CharLanguageModel
    let optimizer: any Optimizer
    let trainIds: [Int32]
    let validationIds: [Int32]
    let textHash: UInt64
    /// Characters per training stream, and steps per epoch.
    let streamLength: Int
    public let stepsPerEpoch: Int
    public let totalSteps: Int
    public let evaluateEvery: Int

    public private(set) var step = 0
    var rng: SeededGenerator
    var hidden: [Float]
    var bestValidation: Double?
    var history: [(step: Int, train: Double, validation: Double?)] = []

    var lastPath: String { (output as NSString).appendingPathComponent("last.safetensors") }
    var bestPath: String { (output as NSString).appendingPathComponent("best.safetensors") }
    var metricsPath: String { (output as NSString).appendingPathComponent("metrics.jsonl") }
    var chartPath: String { (output as NSString).appendingPathComponent("loss.svg") }

    /// A new run. Nothing is written until `run`.
    /// - Throws: bad options, an unreadable or unsuitable text, or an output folder that
    ///   already holds a checkpoint (resume it instead, or choose another folder).
    public convenience init(text textPath: String, options: CharTrainingOptions, output: String) throws {
        try options.validate()
        let text = try TextFile.read(textPath)
        let vocabulary = Vocabulary(text: text)
        let config = CharModelConfiguration(cell: options.cell, vocabulary: vocabulary,
                                            embeddingSize: options.embeddingSize ?? options.hiddenSize,
                                            hiddenSize: options.hiddenSize, layers: options.layers)
        if FileManager.default.fileExists(atPath: (output as NSString).appendingPathComponent("last.safetensors")) {
            throw RecurrentError.invalidArgument(name: "output folder", value: output,
                                                 expected: "a folder without a checkpoint (it holds last.safetensors: "
                                                 + "continue it with --resume \(output), or choose another --out)")
        }
        var rng = SeededGenerator(seed: options.seed)
        let model = try CharLanguageModel(configuration: config, dropout: options.dropout, seed: rng.next())
        try self.init(text: text, textPath: textPath, options: options, output: output, model: model, rng: rng)
    }

    private init(text: String, textPath: String, options: CharTrainingOptions, output: String, model: CharLanguageModel,
                 rng: SeededGenerator) throws {
        self.options = options
        self.textPath = textPath
        self.output = output
        self.model = model
        self.rng = rng
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
        totalSteps = options.steps ?? options.epochs * stepsPerEpoch
        evaluateEvery = options.evaluateEvery ?? min(1000, stepsPerEpoch)
        optimizer = options.optimizer.make(arena: model.arena, learningRate: options.learningRate)
        hidden = [Float](repeating: 0, count: model.model.stack.stateCount(batch: b))
    }

    /// Continues the run saved in `folder`: the model, options and training state come from its
    /// last checkpoint; `steps` or `epochs`, when given, set a new total.
    /// - Throws: a folder without last.safetensors, a checkpoint without training state, or a
    ///   text that is not the one the run was trained on.
    public convenience init(resume folder: String, text: String?, steps: Int?, epochs: Int?) throws {
        let path = (folder as NSString).appendingPathComponent("last.safetensors")
        guard FileManager.default.fileExists(atPath: path) else {
            throw RecurrentError.io(path: folder, reason: "no last.safetensors to resume from")
        }
        try self.init(resuming: SafetensorsFile(contentsOf: path), folder: folder, text: text, steps: steps, epochs: epochs)
    }

    /// Continues from a parsed last checkpoint; `readText` reads the training text (a seam for tests).
    convenience init(resuming file: SafetensorsFile, folder: String, text: String?, steps: Int?, epochs: Int?,
                     readText: (String) throws -> String = TextFile.read) throws {
        let path = file.path
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
        var options = CharTrainingOptions()
        let model = try CharLanguageModel(checkpoint: file, dropout: Float(try field("dropout", as: Double.self)))
        options.cell = model.configuration.cell
        options.hiddenSize = model.configuration.hiddenSize
        options.layers = model.configuration.layers
        options.embeddingSize = model.configuration.embeddingSize
        guard let optimizerKind = OptimizerKind(rawValue: try field("optimizer", as: String.self)) else {
            throw RecurrentError.invalidFile(path: path, reason: "unknown optimizer in the training state")
        }
        options.optimizer = optimizerKind
        options.learningRate = Float(try field("learning_rate", as: Double.self))
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
        try self.init(text: contents, textPath: textPath, options: options, output: folder, model: model,
                      rng: SeededGenerator(seed: 0))
        guard String(textHash, radix: 16) == (try field("text_fnv1a", as: String.self)) else {
            throw RecurrentError.invalidFile(path: textPath, reason: "this is not the text the checkpoint in \(folder) was trained on")
        }
        step = try field("step", as: Int.self)
        guard step >= 0 else { throw RecurrentError.invalidFile(path: path, reason: "training state has step \(step), expected 0 or more") }
        // The random state, hidden state and optimiser moments, exactly as saved.
        let words = try file.integers("train.rng")
        guard words.count == 6 else { throw RecurrentError.invalidFile(path: path, reason: "train.rng must hold 6 words") }
        rng.state = (words[0], words[1], words[2], words[3])
        rng.spareNormal = words[4] != 0 ? Double(bitPattern: words[5]) : nil
        let savedHidden = try file.floats("train.hidden")
        guard savedHidden.count == hidden.count else {
            throw RecurrentError.invalidFile(path: path, reason: "train.hidden has \(savedHidden.count) values, expected \(hidden.count)")
        }
        if let i = savedHidden.firstIndex(where: { !$0.isFinite }) {
            throw RecurrentError.invalidFile(path: path, reason: "train.hidden holds \(savedHidden[i]) at index \(i); the state must be finite")
        }
        hidden = savedHidden
        let moments = optimizer.momentBuffers
        for (i, buffer) in moments.buffers.enumerated() {
            let values = try file.floats("train.optimizer.\(i)")
            guard values.count == moments.count else {
                throw RecurrentError.invalidFile(path: path, reason: "train.optimizer.\(i) has \(values.count) values, expected \(moments.count)")
            }
            if let j = values.firstIndex(where: { !$0.isFinite }) {
                throw RecurrentError.invalidFile(path: path, reason: "train.optimizer.\(i) holds \(values[j]) at index \(j); the state must be finite")
            }
            values.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: moments.count) }
        }
        let optimizerSteps = try field("optimizer_steps", as: Int.self)
        guard optimizerSteps >= 0 else {
            throw RecurrentError.invalidFile(path: path, reason: "training state has optimizer_steps \(optimizerSteps), expected 0 or more")
        }
        optimizer.restore(stepCount: optimizerSteps)
        if let best = try? SafetensorsFile(contentsOf: bestPath), let json = best.metadata["validation"],
           let v = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["val_loss"] as? Double {
            bestValidation = v
        }
        history = Self.readHistory(metricsPath, upTo: step)
    }

    static func readHistory(_ path: String, upTo step: Int) -> [(step: Int, train: Double, validation: Double?)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int, s <= step, let train = o["train_loss"] as? Double else { return nil }
            return (s, train, o["val_loss"] as? Double)
        }
    }

    // MARK: Running

    /// Trains until the total number of steps, or until `shouldStop` returns true (then the last
    /// checkpoint is written and the summary says so).
    /// - Throws: `RecurrentError.divergence` if the loss, or the weights at a checkpoint, stop
    ///   being finite (the checkpoints
    ///   on disk stay as they were), or a file that cannot be written.
    public func run(shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in })
        throws -> CharTrainingSummary {
        try createOutputFolder()
        let (b, t) = (options.batch, options.sequence)
        let v = model.configuration.vocabulary.count
        let m = model.model, arena = model.arena
        let ws = SequenceModelWorkspace()
        var x = [Int32](repeating: 0, count: b * t), y = x
        var logits = [Float](repeating: 0, count: b * t * v), dLogits = logits
        var next = hidden
        var smoothed: Double?
        var sinceEvaluation = (sum: 0.0, count: 0)
        var lastValidation: Double?
        let started = Date()
        let startStep = step
        var interrupted = false

        while step < totalSteps {
            if shouldStop() { interrupted = true; break }
            let k = step % stepsPerEpoch
            if k == 0 { for i in hidden.indices { hidden[i] = 0 } }
            for r in 0..<b {
                let base = r * streamLength + k * t
                for s in 0..<t {
                    x[r * t + s] = trainIds[base + s]
                    y[r * t + s] = trainIds[base + s + 1]
                }
            }
            m.forward(tokens: x, batch: b, steps: t, initialState: hidden, output: &logits, finalState: &next,
                      training: options.dropout > 0, rng: &rng, workspace: ws, arena: arena)
            let loss = Double(Loss.softmaxCrossEntropy(logits: logits, rows: b * t, classes: v, targets: y, gradient: &dLogits).loss)
            guard loss.isFinite else { throw RecurrentError.divergence(step: step + 1, loss: Float(loss)) }
            arena.zeroGradients()
            m.backward(tokens: x, batch: b, steps: t, outputGradient: dLogits, workspace: ws, arena: arena)
            if options.clip > 0 { GradientClipping.clip(arena, maxNorm: options.clip) }
            optimizer.step(arena)
            swap(&hidden, &next)
            step += 1
            smoothed = smoothed.map { 0.99 * $0 + 0.01 * loss } ?? loss
            sinceEvaluation.sum += loss
            sinceEvaluation.count += 1
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double((step - startStep) * b * t) / max(elapsed, 1e-9)
            report(.step(step: step, total: totalSteps, epoch: Double(step) / Double(stepsPerEpoch), loss: smoothed!,
                         tokensPerSecond: rate, secondsLeft: Double((totalSteps - step) * b * t) / max(rate, 1e-9)))
            if step % evaluateEvery == 0 || step == totalSteps {
                // A finite loss can still be followed by an optimiser step to infinite weights:
                // stop here rather than overwrite the last good checkpoint with them.
                guard parametersAreFinite(arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
                let trainLoss = sinceEvaluation.sum / Double(sinceEvaluation.count)
                sinceEvaluation = (0, 0)
                lastValidation = validationIds.count >= 2 ? validationLoss(workspace: ws) : nil
                let improved = lastValidation.map { v in bestValidation.map { v < $0 } ?? true } ?? false
                if improved { bestValidation = lastValidation }
                history.append((step, trainLoss, lastValidation))
                try appendMetrics(trainLoss: trainLoss, validation: lastValidation, rate: rate, elapsed: elapsed)
                try writeAtomically(Data(chart().utf8), to: chartPath)
                if improved { try writeBest(validation: lastValidation!) }
                try writeLast()
                report(.evaluation(step: step, trainLoss: trainLoss, validationLoss: lastValidation, improved: improved))
            }
        }
        if interrupted || step == startStep {
            guard parametersAreFinite(arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
            try writeLast()
        }
        return CharTrainingSummary(steps: step, interrupted: interrupted, lastValidationLoss: lastValidation,
                                   bestValidationLoss: bestValidation, lastCheckpoint: lastPath)
    }

    func createOutputFolder() throws {
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw RecurrentError.io(path: output, reason: "cannot create the output folder (\(SafetensorsFile.reason(error)))")
        }
        removeStaleTemporaries(in: output, names: ["last.safetensors", "best.safetensors", "loss.svg", "metrics.jsonl"])
        // A run killed between its metrics line and its checkpoint wrote lines past the step it
        // resumes from (or half a line): keep only the complete lines up to that step.
        if let data = FileManager.default.contents(atPath: metricsPath) {
            let text = String(decoding: data, as: UTF8.self)
            let kept = Self.metricsLines(text, upTo: step)
            let cleaned = kept.map { $0 + "\n" }.joined()
            if cleaned.isEmpty {
                try? FileManager.default.removeItem(atPath: metricsPath)
            } else if cleaned != text {
                try writeAtomically(Data(cleaned.utf8), to: metricsPath)
            }
        }
    }

    /// The complete metrics lines of `text` whose step is at most `step`.
    static func metricsLines(_ text: String, upTo step: Int) -> [String] {
        text.split(separator: "\n").map(String.init).filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int else { return false }
            return s <= step
        }
    }

    /// Mean loss over the whole validation text, read as up to B contiguous streams in chunks of
    /// T with the state carried, dropout off.
    func validationLoss(workspace ws: SequenceModelWorkspace) -> Double {
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
                      rng: &noDropout, workspace: ws, arena: model.arena)
            let (loss, n) = Loss.softmaxCrossEntropy(logits: logits, rows: streams * steps, classes: v, targets: y, gradient: nil)
            total += Double(loss) * Double(n)
            count += n
            swap(&state, &next)
            start += steps
        }
        return total / Double(max(count, 1))
    }

    // MARK: Files

    func appendMetrics(trainLoss: Double, validation: Double?, rate: Double, elapsed: Double) throws {
        var fields = ["\"step\": \(step)", "\"epoch\": \(Double(step) / Double(stepsPerEpoch))", "\"train_loss\": \(trainLoss)"]
        if let validation { fields.append("\"val_loss\": \(validation)") }
        fields += ["\"tokens_per_second\": \(rate.rounded())", "\"elapsed_seconds\": \((elapsed * 1000).rounded() / 1000)"]
        try appendLine("{" + fields.joined(separator: ", ") + "}", to: metricsPath)
    }

    func chart() -> String {
        var series = [LineChart.Series(name: "train", points: history.map { (Double($0.step), $0.train) })]
        let validation = history.compactMap { h in h.validation.map { (Double(h.step), $0) } }
        if !validation.isEmpty { series.append(.init(name: "validation", points: validation)) }
        return LineChart.document([LineChart(title: "\(model.configuration.cell.displayName) on \((textPath as NSString).lastPathComponent)",
                                             xLabel: "step", yLabel: "loss (nats per character)", series: series)])
    }

    /// The training state as JSON, keys in a fixed order (checkpoint bytes must not vary).
    func trainingJSON() -> String {
        let fields: [(String, String)] = [
            ("format", "1"), ("step", "\(step)"), ("total_steps", "\(totalSteps)"),
            ("optimizer", SafetensorsFile.jsonString(options.optimizer.rawValue)), ("optimizer_steps", "\(optimizer.stepCount)"),
            ("learning_rate", "\(Double(options.learningRate))"), ("clip", "\(Double(options.clip))"),
            ("dropout", "\(Double(options.dropout))"), ("batch", "\(options.batch)"), ("seq_length", "\(options.sequence)"),
            ("val_fraction", "\(options.validationFraction)"), ("eval_every", "\(evaluateEvery)"),
            ("seed", SafetensorsFile.jsonString("\(options.seed)")), ("text", SafetensorsFile.jsonString(textPath)),
            ("text_characters", "\(trainIds.count + validationIds.count)"),
            ("text_fnv1a", SafetensorsFile.jsonString(String(textHash, radix: 16))),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    func writeLast() throws {
        let moments = optimizer.momentBuffers
        var entries = model.contractEntries()
        for (i, buffer) in moments.buffers.enumerated() {
            entries.append(.init("train.optimizer.\(i)", shape: [moments.count],
                                 floats: Array(UnsafeBufferPointer(start: buffer, count: moments.count))))
        }
        let stack = model.model.stack
        entries.append(.init("train.hidden", shape: [stack.layers * stack.directions, options.batch, stack.stateSize], floats: hidden))
        entries.append(.init("train.rng", shape: [6], words: [rng.state.0, rng.state.1, rng.state.2, rng.state.3,
                                                             rng.spareNormal == nil ? 0 : 1, rng.spareNormal?.bitPattern ?? 0]))
        let data = SafetensorsFile.encode(entries, metadata: ["config": model.configuration.json, "training": trainingJSON()])
        try writeAtomically(data, to: lastPath)
    }

    func writeBest(validation: Double) throws {
        let data = SafetensorsFile.encode(model.contractEntries(), metadata: [
            "config": model.configuration.json,
            "validation": "{\"step\": \(step), \"val_loss\": \(validation)}",
        ])
        try writeAtomically(data, to: bestPath)
    }
}

/// Whether every parameter is finite (the loss at these weights is NaN otherwise).
func parametersAreFinite(_ arena: ParameterArena) -> Bool {
    UnsafeBufferPointer(start: arena.values, count: arena.count).allSatisfy(\.isFinite)
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
