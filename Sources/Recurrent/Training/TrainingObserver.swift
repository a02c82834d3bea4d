import Foundation

/// Something the trainer calls at fixed points of its loop: checkpoints, logs, progress. Each
/// method has a default that does nothing.
public protocol TrainingObserver: AnyObject {
    /// Before the first step, once the trainer is set up (restored, when resuming).
    func trainingWillStart(step: Int) throws
    /// After every evaluation (the weights are finite).
    func didEvaluate(_ record: TrainingRecord) throws
    /// At the end of a run that stopped between evaluations (a signal) or evaluated nothing:
    /// the weights are finite; write what a resume needs.
    func didStopBetweenEvaluations(step: Int) throws
}

extension TrainingObserver {
    /// Nothing.
    public func trainingWillStart(step: Int) throws {}
    /// Nothing.
    public func didEvaluate(_ record: TrainingRecord) throws {}
    /// Nothing.
    public func didStopBetweenEvaluations(step: Int) throws {}
}

/// An observer that keeps every evaluation of a run in memory (learning curves) and, when
/// given, calls `onEvaluation` with each.
public final class TrainingHistory: TrainingObserver {
    public private(set) var records: [TrainingRecord] = []
    let onEvaluation: ((TrainingRecord) -> Void)?

    /// An empty history; `onEvaluation` sees each record as it comes.
    public init(onEvaluation: ((TrainingRecord) -> Void)? = nil) { self.onEvaluation = onEvaluation }

    /// Keeps the record, then calls `onEvaluation`.
    public func didEvaluate(_ record: TrainingRecord) throws {
        records.append(record)
        onEvaluation?(record)
    }
}
