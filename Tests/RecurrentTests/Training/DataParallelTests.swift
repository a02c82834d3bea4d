import XCTest
@testable import Recurrent

/// Data-parallel training without MPI: ranks as threads (`ThreadCommunicator`) running the one
/// `Trainer` on a linear model, against one process on the whole batch.
final class DataParallelTests: XCTestCase {
    /// y = W·x + b on fixed rows, loss the mean squared error over the rows' outputs. A
    /// data-parallel rank takes its share of every batch's rows.
    final class LinearTask: TrainingTask {
        static let (d, o, n, b) = (3, 2, 13, 5)   // inputs, outputs, rows, rows per batch
        let arena: ParameterArena
        let parallel: DataParallel?
        let x: [Float], y: [Float]
        var stepsPerEpoch: Int { 3 }
        var evaluations = 0
        private var output: [Float] = [], dOutput: [Float] = []

        init(parallel: DataParallel?) {
            var layout = ParameterLayout()
            _ = layout.add("w", rows: Self.o, cols: Self.d, initializer: .uniform(low: -0.5, high: 0.5))
            _ = layout.add("b", rows: Self.o, initializer: .uniform(low: -0.5, high: 0.5))
            arena = ParameterArena(layout: layout, seed: 7)
            self.parallel = parallel
            var rng = SeededGenerator(seed: 3)
            x = (0..<(Self.n * Self.d)).map { _ in Float.random(in: -1...1, using: &rng) }
            y = (0..<(Self.n * Self.o)).map { _ in Float.random(in: -1...1, using: &rng) }
        }

        /// Rows of the step's batch (a shuffle draws from `rng` at each epoch, as real tasks do),
        /// then this rank's share of them.
        func batch(step: Int, rng: inout SeededGenerator) -> [Int] {
            var rows = Array(0..<Self.n)
            rows.shuffle(using: &rng)
            let whole = Array(rows.prefix(Self.b))
            guard let parallel else { return whole }
            return Array(whole[parallel.share(of: whole.count)])
        }

        func forward(_ rows: [Int], training: Bool, rng: inout SeededGenerator) {
            let (d, o) = (Self.d, Self.o)
            let w = arena.values, b = arena.values + arena["b"]!.offset
            output = rows.flatMap { r in (0..<o).map { j in (0..<d).reduce(b[j]) { $0 + w[j * d + $1] * x[r * d + $1] } } }
        }

        func loss(_ rows: [Int]) -> BatchLoss {
            let targets = rows.flatMap { r in y[(r * Self.o)..<((r + 1) * Self.o)] }
            dOutput = [Float](repeating: 0, count: output.count)
            let l = Loss.meanSquaredError(output, target: targets, count: output.count, gradient: &dOutput)
            return BatchLoss(sum: Double(l) * Double(output.count), count: output.count)
        }

        func backward(_ rows: [Int]) {
            let (d, o) = (Self.d, Self.o)
            let gw = arena.gradients, gb = arena.gradients + arena["b"]!.offset
            for (i, r) in rows.enumerated() {
                for j in 0..<o {
                    gb[j] += dOutput[i * o + j]
                    for k in 0..<d { gw[j * d + k] += dOutput[i * o + j] * x[r * d + k] }
                }
            }
        }

        func tokens(in rows: [Int]) -> Int { rows.count }
        func evaluate() -> Evaluation? { evaluations += 1; return Evaluation(loss: 1) }
    }

    final class Counter: TrainingObserver {
        var evaluations = 0, starts = 0
        func trainingWillStart(step: Int) { starts += 1 }
        func didEvaluate(_ record: TrainingRecord) { evaluations += 1 }
    }

    func weights(_ arena: ParameterArena) -> [Float] { Array(UnsafeBufferPointer(start: arena.values, count: arena.count)) }
    func gradients(_ arena: ParameterArena) -> [Float] { Array(UnsafeBufferPointer(start: arena.gradients, count: arena.count)) }

    func assertClose(_ a: [Float], _ b: [Float], relative: Float, _ what: String, line: UInt = #line) {
        let scale = max(b.map(abs).max() ?? 0, 1e-12)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertEqual(a.count, b.count, line: line)
        XCTAssertLessThanOrEqual(worst / scale, relative, "\(what): largest difference \(worst) of \(scale)", line: line)
    }

    func testRanksTakeContiguousSharesThatCoverTheBatch() {
        XCTAssertEqual((0..<2).map { DataParallel.share(of: 5, rank: $0, size: 2) }, [0..<3, 3..<5])
        XCTAssertEqual((0..<3).map { DataParallel.share(of: 7, rank: $0, size: 3) }, [0..<3, 3..<5, 5..<7])
        XCTAssertEqual((0..<3).map { DataParallel.share(of: 2, rank: $0, size: 3) }, [0..<1, 1..<2, 2..<2])
    }

    /// The first step's reduced gradient on 2 and 3 ranks (uneven shares: 3+2, 2+2+1 rows) is
    /// the gradient of the whole batch in one process, to 1e-6 relative; the global loss too.
    func testTheReducedGradientIsTheWholeBatchGradient() throws {
        /// The first batch's (or this rank's share's) loss, with its gradient in the task's arena.
        func firstStep(_ task: LinearTask) -> (rows: [Int], loss: BatchLoss) {
            var rng = SeededGenerator(seed: 1)
            let rows = task.batch(step: 0, rng: &rng)
            task.forward(rows, training: true, rng: &rng)
            let loss = task.loss(rows)
            task.backward(rows)
            return (rows, loss)
        }
        let single = LinearTask(parallel: nil)
        let wholeLoss = firstStep(single).loss
        for size in [2, 3] {
            let results = ThreadCommunicator.onRanks(size) { parallel -> ([Float], BatchLoss) in
                let task = LinearTask(parallel: parallel)
                let (share, local) = firstStep(task)
                let (loss, tokens) = try parallel.reduce(task.arena, terms: local.count, loss: local, tokens: share.count)
                XCTAssertEqual(tokens, LinearTask.b)
                return (self.gradients(task.arena), loss)
            }
            for (rank, result) in results.enumerated() {
                let (g, loss) = try result.get()
                assertClose(g, gradients(single.arena), relative: 1e-6, "rank \(rank) of \(size)")
                XCTAssertEqual(g, try results[0].get().0, "every rank holds the same bytes")
                XCTAssertEqual(loss.count, wholeLoss.count)
                XCTAssertEqual(loss.mean, wholeLoss.mean, accuracy: 1e-6 * wholeLoss.mean)
            }
        }
    }

    func runTrainer(_ parallel: DataParallel?, steps: Int = 7) throws -> (weights: [Float], counter: Counter, evaluations: Int) {
        let task = LinearTask(parallel: parallel)
        let trainer = Trainer(task: task, optimizer: Adam(arena: task.arena, learningRate: 0.01),
                              options: TrainerOptions(totalSteps: steps, evaluateEvery: 3, learningRate: 0.01),
                              rng: SeededGenerator(seed: 5))
        trainer.dataParallel = parallel
        let counter = Counter()
        trainer.observers = [counter]
        _ = try trainer.run()
        return (weights(task.arena), counter, task.evaluations)
    }

    /// The one `Trainer` on 2 ranks: every rank ends with the same weights, the same bytes on
    /// a second run, close to one process's; only rank 0 runs the observers, every rank evaluates.
    func testTwoRanksTrainLikeOneProcessDeterministicallyAndOnlyRankZeroObserves() throws {
        let alone = try runTrainer(nil)
        let first = try ThreadCommunicator.onRanks(2) { try self.runTrainer($0) }.map { try $0.get() }
        let second = try ThreadCommunicator.onRanks(2) { try self.runTrainer($0) }.map { try $0.get() }
        XCTAssertEqual(first[0].weights, first[1].weights)
        XCTAssertEqual(first[0].weights, second[0].weights)
        assertClose(first[0].weights, alone.weights, relative: 1e-5, "2 ranks against 1 process after 7 Adam steps")
        XCTAssertEqual(first.map(\.counter.evaluations), [3, 0])   // steps 3, 6, 7
        XCTAssertEqual(first.map(\.counter.starts), [1, 0])
        XCTAssertEqual(first.map(\.evaluations), [3, 3])
    }

    /// Ranks whose weights differ are found at the first evaluation, on every rank.
    func testRanksWithDifferentWeightsStopAtTheFirstEvaluation() {
        let results = ThreadCommunicator.onRanks(2) { parallel -> Void in
            let task = LinearTask(parallel: parallel)
            if parallel.rank == 1 { task.arena.values[0] += 1 }
            let trainer = Trainer(task: task, optimizer: SGD(arena: task.arena, learningRate: 0.01),
                                  options: TrainerOptions(totalSteps: 4, evaluateEvery: 2, learningRate: 0.01),
                                  rng: SeededGenerator(seed: 5))
            trainer.dataParallel = parallel
            _ = try trainer.run()
        }
        for result in results {
            XCTAssertThrowsError(try result.get()) { error in
                guard case .distributed(let reason)? = error as? RecurrentError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("at step 2 the weights of rank(s) 1 differ"), reason)
            }
        }
    }

    /// A stop signal seen by one rank stops every rank at the same step.
    func testAStopSeenByOneRankStopsAll() throws {
        let results = ThreadCommunicator.onRanks(2) { parallel -> Int in
            let task = LinearTask(parallel: parallel)
            let trainer = Trainer(task: task, optimizer: SGD(arena: task.arena, learningRate: 0.01),
                                  options: TrainerOptions(totalSteps: 10, evaluateEvery: 5, learningRate: 0.01),
                                  rng: SeededGenerator(seed: 5))
            trainer.dataParallel = parallel
            var checks = 0
            let outcome = try trainer.run(shouldStop: { checks += 1; return parallel.rank == 1 && checks > 3 })
            XCTAssertEqual(outcome.reason, .interrupted)
            return outcome.steps
        }
        XCTAssertEqual(try results.map { try $0.get() }, [3, 3])
    }
}
