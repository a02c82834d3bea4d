import Foundation

/// Which validation figure picks the best checkpoint, drives early stopping and the plateau
/// schedule: the loss (lower is better) or one of the task's metrics by name.
public enum Monitor: Sendable, Equatable {
    case loss
    case metric(String)

    /// The monitored value of an evaluation, signed so that lower is always better.
    func score(_ e: Evaluation) -> Double? {
        switch self {
        case .loss: return e.loss
        case .metric(let name): return e[metric: name].map { $0.higherIsBetter ? -$0.value : $0.value }
        }
    }

    /// Whether the evaluation's monitored value is at `target` or better.
    func reached(_ target: Double, in e: Evaluation) -> Bool {
        switch self {
        case .loss: return e.loss.map { $0 <= target } ?? false
        case .metric(let name): return e[metric: name].map { $0.higherIsBetter ? $0.value >= target : $0.value <= target } ?? false
        }
    }
}

/// How the trainer runs a task: how long, how often it evaluates, the optimiser's rate and its
/// schedule, clipping, and when it stops early.
public struct TrainerOptions: Sendable, Equatable {
    /// Optimiser steps in the whole run.
    public var totalSteps: Int
    /// Validation every this many steps, and after the last step.
    public var evaluateEvery: Int
    /// Also evaluate the untrained model, as step 0 (learning curves that start at the beginning).
    public var evaluateAtStart = false
    public var learningRate: Float
    public var schedule: LearningRateSchedule = .constant
    /// Global-norm clipping threshold; 0 turns clipping off.
    public var clip: Float = 0
    public var monitor: Monitor = .loss
    /// Stop after this many evaluations in a row without a better monitored value.
    public var patience: Int?
    /// Stop as soon as the monitored value reaches this (for example accuracy 1).
    public var target: Double?
    /// Decay d of an exponential moving average of the weights (`--ema`; nil: none), as
    /// PyTorch's `AveragedModel` with an EMA and Keras's `use_ema`. After the n-th step (n from
    /// 1) a ← a + (1 − dₙ)(w − a) with dₙ = min(d, (1 + n)/(10 + n)), the warm-up of TensorFlow's
    /// `ExponentialMovingAverage`, from a = the weights at step 0. Evaluations score the average,
    /// checkpoints hold it as the model (a `last` also holds the trained weights, to resume
    /// from), and a run ends with it in the arena; the optimiser steps the trained weights.
    public var averageDecay: Float?
    /// The precision of the training steps' matrix products, forward and backward (`--matmul-precision`;
    /// `GEMM.MatmulPrecision`). The weights, their gradients, the optimiser and every element-wise
    /// operation stay float32, and evaluations run in float32.
    public var matmulPrecision: GEMM.MatmulPrecision = .fp32

    /// A constant rate, no clipping, the loss monitored, no early stop.
    public init(totalSteps: Int, evaluateEvery: Int, learningRate: Float) {
        self.totalSteps = totalSteps
        self.evaluateEvery = evaluateEvery
        self.learningRate = learningRate
    }
}
