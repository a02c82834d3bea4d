import Foundation
import Recurrent

/// "Vanilla vs LSTM": the same task, data and budget for each cell; learning curves, final
/// test losses and the gradient norms ‖∂L/∂h_t‖ at initialisation.
public struct CellComparisonConfiguration: Sendable {
    public var task: LongRangeTask = .adding
    /// The gap T.
    public var length = 100
    public var cells: [CellKind] = [.rnnTanh, .lstm, .gru]
    public var hiddenSize = 128
    public var steps = 2000
    public var batch = 50
    public var learningRate: Float = 1e-2
    public var clip: Float = 1
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
        try require(evaluateEvery >= 1, .invalidArgument(name: "evaluate-every", value: "\(evaluateEvery)", expected: "at least 1"))
        try require(testSize >= 1, .invalidArgument(name: "test size", value: "\(testSize)", expected: "at least 1"))
    }
}

public struct CellComparisonResult: Sendable {
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
public func compareCells(_ config: CellComparisonConfiguration,
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
        let optimizer = Adam(arena: arena, learningRate: config.learningRate)
        let ws = SequenceModelWorkspace()
        let readout: SequenceModel.Readout = task == .adding ? .lastStep : .allSteps
        var output = [Float](repeating: 0, count: config.batch * l * task.outputs)
        var gradient = output
        var dropoutRNG = SeededGenerator(seed: 0)

        /// Forward, loss and (when `train`) backward on one batch.
        func run(_ batch: LongRangeBatch, train: Bool, norms: UnsafeMutablePointer<Float>? = nil) -> Double {
            let b = task == .adding ? batch.sums.count : batch.classes.count / l
            let loss: Float
            batch.features.withUnsafeBufferPointer { x in
                model.forward(features: x.baseAddress!, batch: b, steps: l, readout: readout, output: &output,
                              rng: &dropoutRNG, workspace: ws, arena: arena)
            }
            if task == .adding {
                loss = Loss.meanSquaredError(output, target: batch.sums, count: b, gradient: &gradient)
            } else {
                loss = batch.classes.withUnsafeBufferPointer {
                    Loss.softmaxCrossEntropy(logits: output, rows: b * l, classes: task.outputs, targets: $0.baseAddress!,
                                             gradient: &gradient).loss
                }
            }
            if train || norms != nil {
                batch.features.withUnsafeBufferPointer { x in
                    model.backward(features: x.baseAddress!, batch: b, steps: l, readout: readout, outputGradient: gradient,
                                   stateGradientNorms: norms, workspace: ws, arena: arena)
                }
            }
            return Double(loss)
        }

        func testLoss() -> Double {
            var total = 0.0, count = 0
            for batch in testBatches {
                let b = task == .adding ? batch.sums.count : batch.classes.count / l
                total += run(batch, train: false) * Double(b)
                count += b
            }
            return total / Double(count)
        }

        var norms = [Float](repeating: 0, count: l)
        arena.zeroGradients()
        _ = run(testBatches[0], train: false, norms: &norms)
        var curve = [(step: 0, loss: testLoss())]
        progress?(kind, 0, curve[0].loss)
        var rng = SeededGenerator(seed: config.seed)   // the same training data for every cell
        for step in 1...config.steps {
            let batch = task.makeBatch(length: config.length, batch: config.batch, rng: &rng)
            arena.zeroGradients()
            let loss = run(batch, train: true)
            guard loss.isFinite else { throw RecurrentError.divergence(step: step, loss: Float(loss)) }
            GradientClipping.clip(arena, maxNorm: config.clip)
            optimizer.step(arena)
            if step % config.evaluateEvery == 0 || step == config.steps {
                let test = testLoss()
                curve.append((step, test))
                progress?(kind, step, test)
            }
        }
        let final = curve.last!.loss
        runs.append(.init(cell: kind, testLoss: final, steps: config.steps, seconds: Date().timeIntervalSince(started),
                          curve: curve, gradientNorms: norms, solved: final < task.baseline(length: config.length) / 16))
    }
    return CellComparisonResult(task: task, length: config.length, baseline: task.baseline(length: config.length), runs: runs)
}
