/// The loss of one batch: a sum over `count` terms. The trainer reports Σ sum / Σ count over
/// the steps since the last evaluation, so a task chooses the weighting: per token (sum of
/// token losses, token count) or per step (the batch's mean, count 1).
public struct BatchLoss: Sendable, Equatable {
    public var sum: Double
    public var count: Int

    /// A loss summed over `count` terms.
    public init(sum: Double, count: Int) {
        self.sum = sum
        self.count = count
    }

    /// sum / count (0 when nothing was counted).
    public var mean: Double { sum / Double(max(count, 1)) }
}

/// What a validation pass measured: the mean loss and the task's own metrics (accuracy, …),
/// in the order they should be printed and logged.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double?
    public var metrics: [Metric]

    public struct Metric: Sendable, Equatable {
        public var name: String
        public var value: Double
        /// Whether a larger value is better (accuracy) or a smaller one (an error).
        public var higherIsBetter: Bool

        /// A named metric; `higherIsBetter` for accuracy, false for an error.
        public init(_ name: String, _ value: Double, higherIsBetter: Bool = true) {
            self.name = name
            self.value = value
            self.higherIsBetter = higherIsBetter
        }
    }

    /// An evaluation's loss (nil when the task has none) and metrics.
    public init(loss: Double?, metrics: [Metric] = []) {
        self.loss = loss
        self.metrics = metrics
    }

    /// The metric called `name`, if measured.
    public subscript(metric name: String) -> Metric? { metrics.first { $0.name == name } }
}

/// What the one training loop (`Trainer`) trains. An application plugs in here with its model,
/// its data and its metric; the loop itself (optimiser, clipping, schedule, evaluation, early
/// stopping, checkpoints, signals) is written once, in `Trainer`.
///
/// Each step the trainer calls, in this order: `batch(step:rng:)`, `forward`, `loss`, then (with
/// the arena's gradients zeroed) `backward`, the optimiser step, and `stepTaken`. Each call does
/// what its name says and nothing else.
public protocol TrainingTask: AnyObject {
    associatedtype Batch

    /// The parameters the optimiser updates; their gradients are where `backward` accumulates.
    var arena: ParameterArena { get }
    /// Optimiser steps in one pass over the training data.
    var stepsPerEpoch: Int { get }

    /// The batch of training step `step` (0-based, counted from the start of the run). Called
    /// once per step, in order; it may draw from `rng` (a shuffle at the start of an epoch).
    func batch(step: Int, rng: inout SeededGenerator) throws -> Batch
    /// Forward on `batch`: the model's outputs, kept by the task for `loss` and `backward`.
    /// - Parameter training: dropout on, masks drawn from `rng`.
    func forward(_ batch: Batch, training: Bool, rng: inout SeededGenerator) throws
    /// The loss of the last forward's outputs, and ∂loss/∂outputs (kept for `backward`).
    func loss(_ batch: Batch) throws -> BatchLoss
    /// Backward from the last `loss`'s gradient: accumulates (+=) ∂L/∂θ into the arena.
    func backward(_ batch: Batch) throws
    /// After the optimiser step: carry state from batch to batch (truncated BPTT). Default: nothing.
    func stepTaken(_ batch: Batch)
    /// Tokens (time steps) in a batch, for the throughput the trainer reports.
    func tokens(in batch: Batch) -> Int
    /// The validation pass, dropout off: loss and metrics; nil when there is no validation data.
    func evaluate() throws -> Evaluation?

    // Data-parallel runs (`Trainer.dataParallel`); a single process never calls these.

    /// The number of terms this batch's loss and gradient are a mean over: a data-parallel run
    /// weights each rank's gradient by its share of the global total. Default: `loss.count`
    /// (a loss summed over tokens); a task whose loss is a per-step mean says how many rows it averaged.
    func gradientTerms(_ batch: Batch, loss: BatchLoss) -> Int
    /// Before rank 0's observers run: make per-rank state whole again (a checkpoint's hidden
    /// state of every stream) with `parallel.gather`; every rank calls it. Default: nothing.
    func gatherState(_ parallel: DataParallel) throws
}

extension TrainingTask {
    /// Nothing: a task that carries no state between batches.
    public func stepTaken(_ batch: Batch) {}
    /// `loss.count`.
    public func gradientTerms(_ batch: Batch, loss: BatchLoss) -> Int { loss.count }
    /// Nothing: a task whose state between batches is the same on every rank.
    public func gatherState(_ parallel: DataParallel) throws {}
}
