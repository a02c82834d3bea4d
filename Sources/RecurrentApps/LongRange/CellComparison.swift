import Foundation
import Recurrent

/// "Vanilla vs LSTM": the same task, data and budget for each cell; learning curves, final
/// test losses and the gradient norms ‖∂L/∂h_t‖ at initialisation.
package struct CellComparisonConfiguration: Sendable {
    public var task: LongRangeTask = .adding
    /// The gap T.
    public var length = 100
    public var cells: [CellKind] = [.rnnTanh, .lstm, .gru]
    public var hiddenSize = 128
    public var steps = 2000
    public var batch = 50
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 1e-2
    public var schedule: LearningRateSchedule = .constant
    public var clip: Float = 1
    /// Stop a cell after this many test evaluations without a lower test loss.
    public var patience: Int?
    public var seed: UInt64 = 1
    public var initialization: RecurrentInitialization = .glorotOrthogonal
    /// Test loss is measured every this many steps.
    public var evaluateEvery = 100
    public var testSize = 500

    public init() {}

    /// - Throws: `RecurrentError.invalidArgument` naming the bad setting.
    public func validate() throws {
        try require(length >= LongRangeTask.minimumLength && length <= 100_000,
                    .invalidArgument(name: "length", value: "\(length)", expected: "2...100000"))
        try require(!cells.isEmpty, .invalidArgument(name: "cells", value: "", expected: "at least one of rnn, lstm, gru"))
        try require(hiddenSize >= 1 && hiddenSize <= 8192,
                    .invalidArgument(name: "hidden size", value: "\(hiddenSize)", expected: "1...8192"))
        try require(steps >= 1, .invalidArgument(name: "steps", value: "\(steps)", expected: "at least 1"))
        try require(batch >= 1, .invalidArgument(name: "batch", value: "\(batch)", expected: "at least 1"))
        try require(learningRate > 0 && learningRate.isFinite,
                    .invalidArgument(name: "learning rate", value: "\(learningRate)", expected: "a positive number"))
        try require((patience ?? 1) >= 1, .invalidArgument(name: "patience", value: "\(patience ?? 0)", expected: "at least 1"))
        try schedule.validate()
        try require(evaluateEvery >= 1, .invalidArgument(name: "evaluate-every", value: "\(evaluateEvery)", expected: "at least 1"))
        try require(testSize >= 1, .invalidArgument(name: "test size", value: "\(testSize)", expected: "at least 1"))
    }
}

package struct CellComparisonResult: Sendable {
    public struct Run: Sendable {
        public let cell: CellKind
        public let testLoss: Double
        public let steps: Int
        public let seconds: Double
        /// (step, test loss), step 0 being the untrained model.
        public let curve: [(step: Int, loss: Double)]
        /// ‖∂L/∂h_t‖ for t = 0..<L at initialisation, on the first test batch.
        public let gradientNorms: [Float]
        /// Below one-sixteenth of the baseline.
        public let solved: Bool
    }
    public let task: LongRangeTask
    public let length: Int
    public let baseline: Double
    public let runs: [Run]
}

/// Trains each cell of `config.cells` on the task and measures it.
/// - Parameter progress: called after every evaluation with (cell, step, test loss).
/// - Throws: a bad configuration, or `RecurrentError.divergence` when a loss is not finite.
package func compareCells(_ config: CellComparisonConfiguration,
                         progress: ((CellKind, Int, Double) -> Void)? = nil) throws -> CellComparisonResult {
    try config.validate()
    let task = config.task
    let l = task.sequenceLength(config.length)
    // One test set for every cell, drawn apart from the training stream.
    var testRNG = SeededGenerator(seed: config.seed ^ 0x7E57_7E57)
    let testBatches = stride(from: 0, to: config.testSize, by: config.batch).map { start in
        task.makeBatch(length: config.length, batch: min(config.batch, config.testSize - start), rng: &testRNG)
    }
    var runs: [CellComparisonResult.Run] = []
    for kind in config.cells {
        let started = Date()
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(task.inputFeatures), kind: kind, hiddenSize: config.hiddenSize,
                                      outputs: task.outputs, initialization: config.initialization, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: config.seed)
        let training = LongRangeTrainingTask(task: task, length: config.length, batch: config.batch, model: model,
                                             arena: arena, testBatches: testBatches)
        // ‖∂L/∂h_t‖ at initialisation, on the first test batch.
        var norms = [Float](repeating: 0, count: l)
        arena.zeroGradients()
        var noDropout = SeededGenerator(seed: 0)
        training.forward(testBatches[0], training: false, rng: &noDropout)
        _ = training.loss(testBatches[0])
        training.backward(testBatches[0], stateGradientNorms: &norms)

        var options = TrainerOptions(totalSteps: config.steps, evaluateEvery: config.evaluateEvery,
                                     learningRate: config.learningRate)
        options.evaluateAtStart = true
        options.clip = config.clip
        options.schedule = config.schedule
        options.patience = config.patience
        let trainer = Trainer(task: training, optimizer: config.optimizer.make(arena: arena, learningRate: config.learningRate),
                              options: options, rng: SeededGenerator(seed: config.seed))   // the same training data for every cell
        let history = TrainingHistory { progress?(kind, $0.step, $0.evaluation!.loss!) }
        trainer.observers = [history]
        let outcome = try trainer.run()
        let curve = history.records.map { (step: $0.step, loss: $0.evaluation!.loss!) }
        let final = curve.last!.loss
        runs.append(.init(cell: kind, testLoss: final, steps: outcome.steps, seconds: Date().timeIntervalSince(started),
                          curve: curve, gradientNorms: norms, solved: final < task.baseline(length: config.length) / 16))
    }
    return CellComparisonResult(task: task, length: config.length, baseline: task.baseline(length: config.length), runs: runs)
}

/// A long-range task as the trainer sees it: a fresh batch every step, drawn from the trainer's
/// random stream; evaluation is the loss on a fixed test set.
final class LongRangeTrainingTask: TrainingTask {
    let task: LongRangeTask
    let length: Int
    let steps: Int
    let model: SequenceModel
    let arena: ParameterArena
    let testBatches: [LongRangeBatch]
    let batchSize: Int
    private let workspace = SequenceModelWorkspace()
    private var output: [Float], gradient: [Float]
    private var readout: SequenceModel.Readout { task == .adding ? .lastStep : .allSteps }
    var stepsPerEpoch: Int { 1 }

    init(task: LongRangeTask, length: Int, batch: Int, model: SequenceModel, arena: ParameterArena,
         testBatches: [LongRangeBatch]) {
        self.task = task
        self.length = length
        steps = task.sequenceLength(length)
        self.model = model
        self.arena = arena
        self.testBatches = testBatches
        batchSize = batch
        output = [Float](repeating: 0, count: batch * steps * task.outputs)
        gradient = output
    }

    private func rows(_ batch: LongRangeBatch) -> Int { task == .adding ? batch.sums.count : batch.classes.count / steps }

    func batch(step: Int, rng: inout SeededGenerator) -> LongRangeBatch {
        task.makeBatch(length: length, batch: batchSize, rng: &rng)
    }

    func forward(_ batch: LongRangeBatch, training: Bool, rng: inout SeededGenerator) {
        batch.features.withUnsafeBufferPointer { x in
            model.forward(features: x.baseAddress!, batch: rows(batch), steps: steps, readout: readout, output: &output,
                          training: training, rng: &rng, workspace: workspace, arena: arena)
        }
    }

    /// The batch's mean loss (MSE of the sum, or cross-entropy per step), counted once.
    func loss(_ batch: LongRangeBatch) -> BatchLoss {
        let b = rows(batch)
        let loss: Float
        if task == .adding {
            loss = Loss.meanSquaredError(output, target: batch.sums, count: b, gradient: &gradient)
        } else {
            loss = batch.classes.withUnsafeBufferPointer {
                Loss.softmaxCrossEntropy(logits: output, rows: b * steps, classes: task.outputs, targets: $0.baseAddress!,
                                         gradient: &gradient).loss
            }
        }
        return BatchLoss(sum: Double(loss), count: 1)
    }

    func backward(_ batch: LongRangeBatch) { backward(batch, stateGradientNorms: nil) }

    /// Backward; with `stateGradientNorms`, also ‖∂L/∂h_t‖ for every step t.
    func backward(_ batch: LongRangeBatch, stateGradientNorms norms: UnsafeMutablePointer<Float>?) {
        batch.features.withUnsafeBufferPointer { x in
            model.backward(features: x.baseAddress!, batch: rows(batch), steps: steps, readout: readout,
                           outputGradient: gradient, stateGradientNorms: norms, workspace: workspace, arena: arena)
        }
    }

    func tokens(in batch: LongRangeBatch) -> Int { rows(batch) * steps }

    /// The mean loss over the test set.
    func evaluate() -> Evaluation? {
        var total = 0.0, count = 0
        var noDropout = SeededGenerator(seed: 0)
        for batch in testBatches {
            forward(batch, training: false, rng: &noDropout)
            let b = rows(batch)
            total += loss(batch).sum * Double(b)
            count += b
        }
        return Evaluation(loss: total / Double(count))
    }
}
