import Foundation

/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// After every step: smoothed training loss, throughput, and seconds left at that pace.
    case step(step: Int, total: Int, epoch: Double, loss: Double, tokensPerSecond: Double, secondsLeft: Double)
    /// After every evaluation.
    case evaluation(step: Int, trainLoss: Double, validationLoss: Double?, improved: Bool)
}

/// One evaluation of a run, as metrics.jsonl records it.
public struct TrainingRecord: Sendable {
    public var step: Int
    public var epoch: Double
    /// Σ loss / Σ count over the steps since the previous evaluation (nil at step 0).
    public var trainLoss: Double?
    public var evaluation: Evaluation?
    public var learningRate: Float
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    /// The part of `elapsedSeconds` spent in training steps (batch, forward, loss, backward,
    /// reduction, clipping, optimiser), without evaluations and observers (checkpoint writes):
    /// the time to compare with another framework's training loop.
    public var trainingSeconds: Double
    /// The monitored value is the best so far.
    public var improved: Bool
}

/// How a run ended.
public struct TrainingOutcome: Sendable {
    public enum Reason: String, Sendable {
        /// Every step of `totalSteps` was taken.
        case completed
        /// `shouldStop` said so (a signal): the last checkpoint was written.
        case interrupted
        /// `patience` evaluations without improvement.
        case earlyStopped = "early_stopped"
        /// The monitored value reached `target`.
        case reachedTarget = "reached_target"
    }
    public let reason: Reason
    /// Steps taken, counted from the start of the run (a resumed run included).
    public let steps: Int
    public let lastEvaluation: Evaluation?
    /// The best monitored value, as the task reports it (a loss, or a metric's value).
    public let best: Double?
}

/// The one training loop. Every model the project trains goes through it: it asks the task for
/// batches, runs forward, loss and backward, clips, steps the optimiser on the schedule,
/// evaluates, keeps the best value and stops early; observers write checkpoints and logs at
/// fixed points, and the whole state it owns (step, random state, optimiser moments, best
/// value, schedule) goes into and comes back from a checkpoint (`stateEntries`, `restore`).
///
/// A run that stops because the loss or the weights stop being finite throws
/// `RecurrentError.divergence` before any observer sees the bad weights.
public final class Trainer<Task: TrainingTask> {
    public let task: Task
    public let optimizer: any Optimizer
    public var options: TrainerOptions
    /// Steps taken so far.
    public package(set) var step = 0
    /// Batches (shuffles) and dropout draw from this.
    public var rng: SeededGenerator
    /// The best monitored value so far, signed so that lower is better (see `Monitor`).
    public package(set) var bestScore: Double?
    /// Evaluations since the monitored value last improved.
    public package(set) var evaluationsSinceBest = 0
    /// The plateau schedule's factor on the learning rate.
    public package(set) var learningRateScale: Float = 1
    /// Observers run on rank 0 only in a data-parallel run.
    public var observers: [any TrainingObserver] = []
    /// A data-parallel run: every rank trains on its share of each global batch; after every
    /// backward the gradients are reduced (`DataParallel.reduce`), losses and counts are global,
    /// the weights are compared at every evaluation, and only rank 0 runs the observers. Nil
    /// (the default): one process, exactly as without it.
    public var dataParallel: DataParallel?
    /// The rate the schedule last set. The optimiser's rate is set only when the schedule moves,
    /// so a rate set by hand between steps holds until then.
    private var scheduledRate: Float
    /// The weights' moving average (`TrainerOptions.averageDecay`), the arena's layout; empty
    /// without one.
    private var average: [Float] = []
    /// The trained weights, kept here while the average is in the arena.
    private var trained: [Float] = []
    /// The arena holds the average (during evaluations and observers, and after a run).
    private var averageInArena = false

    /// A trainer at step 0; `rng` feeds the task's batches and dropout. Sets the optimiser's
    /// rate from the schedule.
    public init(task: Task, optimizer: any Optimizer, options: TrainerOptions, rng: SeededGenerator) {
        self.task = task
        self.optimizer = optimizer
        self.options = options
        self.rng = rng
        scheduledRate = options.schedule.rate(base: options.learningRate, step: 0, totalSteps: options.totalSteps,
                                              stepsPerEpoch: task.stepsPerEpoch)
        optimizer.learningRate = scheduledRate
        startAverage()
    }

    // MARK: The weights' moving average

    /// The average starts at the weights in the arena (at step 0, or when the option is set later).
    private func startAverage() {
        guard options.averageDecay != nil, average.isEmpty else { return }
        average = Array(UnsafeBufferPointer(start: task.arena.values, count: task.arena.count))
    }

    /// a ← a + (1 − dₙ)(w − a) after step n (see `TrainerOptions.averageDecay`).
    private func updateAverage(decay: Float, steps n: Int) {
        let d = min(decay, Float(1 + n) / Float(10 + n)), r = 1 - d
        let w = UnsafePointer(task.arena.values)
        average.withUnsafeMutableBufferPointer { a in
            for i in a.indices { a[i] += r * (w[i] - a[i]) }
        }
    }

    /// Puts the average into the arena, keeping the trained weights aside (no-op without one).
    private func moveAverageIn() {
        guard !average.isEmpty, !averageInArena else { return }
        let arena = task.arena
        trained = Array(UnsafeBufferPointer(start: arena.values, count: arena.count))
        average.withUnsafeBufferPointer { arena.values.update(from: $0.baseAddress!, count: arena.count) }
        averageInArena = true
    }

    /// Puts the trained weights back into the arena.
    private func moveAverageOut() {
        guard averageInArena else { return }
        trained.withUnsafeBufferPointer { task.arena.values.update(from: $0.baseAddress!, count: task.arena.count) }
        averageInArena = false
    }

    /// The learning rate of step `step` (0-based).
    public func learningRate(at step: Int) -> Float {
        options.schedule.rate(base: options.learningRate, step: step, totalSteps: options.totalSteps,
                              stepsPerEpoch: task.stepsPerEpoch) * learningRateScale
    }

    /// Trains until `totalSteps`, an early stop, or `shouldStop` (checked before every step).
    /// - Throws: `RecurrentError.divergence` when the loss or the weights stop being finite;
    ///   whatever the task or an observer throws.
    public func run(shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in }) throws
        -> TrainingOutcome {
        let isPrimary = dataParallel?.isPrimary ?? true
        // A run that continues one in this process steps the trained weights, not the average.
        moveAverageOut()
        startAverage()
        if isPrimary { for o in observers { try o.trainingWillStart(step: step) } }
        let started = Date()
        let startStep = step
        var smoothed: Double?
        var sinceEvaluation = (sum: 0.0, count: 0)
        var tokens = 0
        var evaluated = false
        var trainingSeconds = 0.0
        var last: Evaluation?
        var reason = TrainingOutcome.Reason.completed
        let arena = task.arena

        // Before rank 0's observers: the weights proven equal, per-rank state made whole.
        func synchronize() throws {
            guard let dataParallel else { return }
            try dataParallel.checkAgreement(arena, step: step)
            try task.gatherState(dataParallel)
        }

        func evaluate() throws {
            // A finite loss can still be followed by an optimiser step to infinite weights:
            // stop here rather than hand them to a checkpoint.
            guard parametersAreFinite(arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
            let trainLoss = sinceEvaluation.count > 0 ? sinceEvaluation.sum / Double(sinceEvaluation.count) : nil
            sinceEvaluation = (0, 0)
            // With a moving average, it is what is scored and what the observers write.
            moveAverageIn()
            let evaluation = try task.evaluate()
            last = evaluation
            var improved = false
            if let score = evaluation.flatMap(options.monitor.score) {
                improved = bestScore.map { score < $0 } ?? true
                if improved {
                    bestScore = score
                    evaluationsSinceBest = 0
                } else {
                    evaluationsSinceBest += 1
                    if case .plateau(let factor, let patience) = options.schedule, evaluationsSinceBest % patience == 0 {
                        learningRateScale *= factor
                    }
                }
            }
            try synchronize()
            let elapsed = Date().timeIntervalSince(started)
            let record = TrainingRecord(step: step, epoch: Double(step) / Double(task.stepsPerEpoch), trainLoss: trainLoss,
                                        evaluation: evaluation, learningRate: optimizer.learningRate,
                                        tokensPerSecond: Double(tokens) / max(elapsed, 1e-9), elapsedSeconds: elapsed,
                                        trainingSeconds: trainingSeconds, improved: improved)
            evaluated = true
            if isPrimary { for o in observers { try o.didEvaluate(record) } }
            if let trainLoss {
                report(.evaluation(step: step, trainLoss: trainLoss, validationLoss: evaluation?.loss, improved: improved))
            }
            moveAverageOut()
        }

        if options.evaluateAtStart && step == 0 { try evaluate() }
        loop: while step < options.totalSteps {
            // All ranks stop at the same step, whichever of them saw the signal.
            if try dataParallel?.anyRank(shouldStop()) ?? shouldStop() { reason = .interrupted; break }
            let stepStarted = Date()
            let scheduled = learningRate(at: step)
            if scheduled != scheduledRate {
                scheduledRate = scheduled
                optimizer.learningRate = scheduled
            }
            let batch = try task.batch(step: step, rng: &rng)
            var loss = try GEMM.withMatmulPrecision(options.matmulPrecision) {
                if var dropout = dataParallel?.stepGenerator(rng, step: step) {
                    try task.forward(batch, training: true, rng: &dropout)
                } else {
                    try task.forward(batch, training: true, rng: &rng)
                }
                return try task.loss(batch)
            }
            func diverged() -> RecurrentError { .divergence(step: step + 1, loss: Float(loss.mean)) }
            // With ranks, one rank's bad loss shows in the global loss: every rank stops together.
            guard loss.sum.isFinite || dataParallel != nil else { throw diverged() }
            arena.zeroGradients()
            try GEMM.withMatmulPrecision(options.matmulPrecision) { try task.backward(batch) }
            var batchTokens = task.tokens(in: batch)
            if let dataParallel {
                (loss, batchTokens) = try dataParallel.reduce(arena, terms: task.gradientTerms(batch, loss: loss), loss: loss,
                                                              tokens: batchTokens)
                guard loss.sum.isFinite else { throw diverged() }
            }
            if options.clip > 0 { GradientClipping.clip(arena, maxNorm: options.clip) }
            optimizer.step(arena)
            if let decay = options.averageDecay { updateAverage(decay: decay, steps: step + 1) }
            task.stepTaken(batch)
            trainingSeconds += Date().timeIntervalSince(stepStarted)
            step += 1
            sinceEvaluation.sum += loss.sum
            sinceEvaluation.count += loss.count
            tokens += batchTokens
            smoothed = smoothed.map { 0.99 * $0 + 0.01 * loss.mean } ?? loss.mean
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(tokens) / max(elapsed, 1e-9)
            report(.step(step: step, total: options.totalSteps, epoch: Double(step) / Double(task.stepsPerEpoch),
                         loss: smoothed!, tokensPerSecond: rate,
                         secondsLeft: elapsed / Double(step - startStep) * Double(options.totalSteps - step)))
            if step % options.evaluateEvery == 0 || step == options.totalSteps {
                try evaluate()
                if let target = options.target, let e = last, options.monitor.reached(target, in: e) {
                    reason = .reachedTarget
                    break loop
                }
                if let patience = options.patience, evaluationsSinceBest >= patience {
                    reason = .earlyStopped
                    break loop
                }
            }
        }
        if reason == .interrupted || !evaluated {
            guard parametersAreFinite(arena) else { throw RecurrentError.divergence(step: step, loss: .nan) }
            moveAverageIn()
            try synchronize()
            if isPrimary { for o in observers { try o.didStopBetweenEvaluations(step: step) } }
        }
        // The run's model is the average, as Keras leaves it (`run` again continues from the trained weights).
        moveAverageIn()
        var best = bestScore
        if case .metric(let name) = options.monitor, last?[metric: name]?.higherIsBetter ?? true { best = best.map { -$0 } }
        return TrainingOutcome(reason: reason, steps: step, lastEvaluation: last, best: best)
    }

    // MARK: Checkpoint state

    /// The state this trainer owns, as checkpoint tensors: `train.optimizer.{i}` (each moment
    /// buffer, the arena's layout), `train.rng` (the four state words, whether a spare normal
    /// is held, its bits) and, with a moving average, `train.weights`: the trained weights, while
    /// the checkpoint's model is the average (as it is whenever the observers run).
    public func stateEntries() -> [SafetensorsFile.Entry] {
        let moments = optimizer.moments
        var entries = moments.buffers.enumerated().map { i, buffer in
            SafetensorsFile.Entry("train.optimizer.\(i)", shape: [moments.count],
                                  floats: Array(UnsafeBufferPointer(start: buffer, count: moments.count)))
        }
        entries.append(.init("train.rng", shape: [6], words: [rng.state.0, rng.state.1, rng.state.2, rng.state.3,
                                                             rng.spareNormal == nil ? 0 : 1, rng.spareNormal?.bitPattern ?? 0]))
        if !average.isEmpty {
            let arena = task.arena
            entries.append(.init("train.weights", shape: [arena.count], floats: averageInArena
                                 ? trained : Array(UnsafeBufferPointer(start: arena.values, count: arena.count))))
        }
        return entries
    }

    /// The state this trainer owns as JSON fields of the `training` metadata, in a fixed order
    /// (checkpoint bytes must not vary): step, optimiser steps, and — when they are not at their
    /// start — the best value, evaluations since it, and the plateau factor.
    public func stateFields() -> [(String, String)] {
        var fields = [("step", "\(step)"), ("optimizer_steps", "\(optimizer.stepCount)")]
        if let bestScore {
            // Its bits too: Foundation's JSON reader on Linux can round a decimal's last bit, and a
            // resumed run must compare later scores against exactly this one.
            fields += [("best_score", "\(bestScore)"), ("best_score_bits", "\"\(bestScore.bitPattern)\"")]
        }
        if evaluationsSinceBest > 0 { fields.append(("evaluations_since_best", "\(evaluationsSinceBest)")) }
        if learningRateScale != 1 { fields.append(("learning_rate_scale", "\(Double(learningRateScale))")) }
        return fields
    }

    /// Restores what `stateEntries` and `stateFields` saved in a `last` checkpoint.
    /// - Throws: `RecurrentError.invalidFile` for a missing, mis-sized or non-finite piece.
    public func restore(from checkpoint: Checkpoint) throws {
        let (file, path) = (checkpoint.file, checkpoint.path)
        let fields = checkpoint.trainingFields ?? [:]
        func bad(_ reason: String) -> RecurrentError { .invalidFile(path: path, reason: reason) }
        func count(_ key: String) throws -> Int {
            guard let v = fields[key] as? Int else { throw bad("training state lacks \"\(key)\"") }
            guard v >= 0 else { throw bad("training state has \(key) \(v), expected 0 or more") }
            return v
        }
        let step = try count("step"), optimizerSteps = try count("optimizer_steps")
        let words = try file.integers("train.rng")
        guard words.count == 6 else { throw bad("train.rng must hold 6 words") }
        // With a moving average the checkpoint's model (in the arena now) is the average.
        let arena = task.arena
        var trainedWeights: [Float]?
        if options.averageDecay != nil, file.tensors.contains(where: { $0.name == "train.weights" }) {
            let values = try file.floats("train.weights")
            guard values.count == arena.count else {
                throw bad("train.weights has \(values.count) values, expected \(arena.count)")
            }
            if let j = values.firstIndex(where: { !$0.isFinite }) {
                throw bad("train.weights holds \(values[j]) at index \(j); the weights must be finite")
            }
            trainedWeights = values
        }
        let moments = optimizer.moments
        for (i, buffer) in moments.buffers.enumerated() {
            let values = try file.floats("train.optimizer.\(i)")
            guard values.count == moments.count else {
                throw bad("train.optimizer.\(i) has \(values.count) values, expected \(moments.count)")
            }
            if let j = values.firstIndex(where: { !$0.isFinite }) {
                throw bad("train.optimizer.\(i) holds \(values[j]) at index \(j); the state must be finite")
            }
            values.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: moments.count) }
        }
        if options.averageDecay != nil {
            average = Array(UnsafeBufferPointer(start: arena.values, count: arena.count))
            trainedWeights?.withUnsafeBufferPointer { arena.values.update(from: $0.baseAddress!, count: arena.count) }
            averageInArena = false
        }
        self.step = step
        optimizer.stepCount = optimizerSteps
        rng.state = (words[0], words[1], words[2], words[3])
        rng.spareNormal = words[4] != 0 ? Double(bitPattern: words[5]) : nil
        bestScore = (fields["best_score_bits"] as? String).flatMap(UInt64.init).map(Double.init(bitPattern:))
            ?? fields["best_score"] as? Double
        evaluationsSinceBest = fields["evaluations_since_best"] as? Int ?? 0
        learningRateScale = Float(fields["learning_rate_scale"] as? Double ?? 1)
        scheduledRate = learningRate(at: step)
        optimizer.learningRate = scheduledRate
    }
}

/// Whether every parameter is finite (the loss at these weights is NaN otherwise).
public func parametersAreFinite(_ arena: ParameterArena) -> Bool {
    UnsafeBufferPointer(start: arena.values, count: arena.count).allSatisfy(\.isFinite)
}
