import XCTest
@testable import Recurrent

/// The one training loop on a scripted task: one parameter, a fixed gradient, and validation
/// losses read from a script, so early stopping, the plateau schedule and targets are exact.
final class TrainerTests: XCTestCase {
    final class ScriptedTask: TrainingTask {
        let arena: ParameterArena
        let stepsPerEpoch: Int
        var validationLosses: [Double]
        var accuracy: [Double] = []
        var evaluations = 0
        var batches: [Int] = []
        /// The weight each evaluation saw.
        var evaluatedWeights: [Float] = []

        init(stepsPerEpoch: Int, validationLosses: [Double]) {
            var layout = ParameterLayout()
            _ = layout.add("w", rows: 1, cols: 1, initializer: .zeros)
            arena = ParameterArena(layout: layout, seed: 1)
            self.stepsPerEpoch = stepsPerEpoch
            self.validationLosses = validationLosses
        }

        func batch(step: Int, rng: inout SeededGenerator) -> Int { batches.append(step); return step }
        func forward(_ batch: Int, training: Bool, rng: inout SeededGenerator) {}
        func loss(_ batch: Int) -> BatchLoss { BatchLoss(sum: Double(batch), count: 1) }
        func backward(_ batch: Int) { arena.gradients[0] += 1 }
        func tokens(in batch: Int) -> Int { 1 }
        func evaluate() -> Evaluation? {
            defer { evaluations += 1 }
            evaluatedWeights.append(arena.values[0])
            let metrics = evaluations < accuracy.count ? [Evaluation.Metric("accuracy", accuracy[evaluations])] : []
            return Evaluation(loss: validationLosses[min(evaluations, validationLosses.count - 1)], metrics: metrics)
        }
    }

    func trainer(_ task: ScriptedTask, steps: Int, every: Int, lr: Float = 0.1) -> Trainer<ScriptedTask> {
        Trainer(task: task, optimizer: SGD(arena: task.arena, learningRate: lr),
                options: TrainerOptions(totalSteps: steps, evaluateEvery: every, learningRate: lr), rng: SeededGenerator(seed: 1))
    }

    func testEveryStepIsTakenInOrderAndTrainLossIsTheMeanSinceTheLastEvaluation() throws {
        let task = ScriptedTask(stepsPerEpoch: 3, validationLosses: [5, 4, 3])
        let t = trainer(task, steps: 7, every: 3)
        let history = TrainingHistory()
        t.observers = [history]
        let outcome = try t.run()
        XCTAssertEqual(outcome.reason, .completed)
        XCTAssertEqual(task.batches, Array(0..<7))
        XCTAssertEqual(history.records.map(\.step), [3, 6, 7])
        XCTAssertEqual(history.records.map { $0.trainLoss! }, [1, 4, 6])   // means of 0,1,2 | 3,4,5 | 6
        XCTAssertEqual(task.arena.values[0], -0.7, accuracy: 1e-6)          // 7 SGD steps of 0.1 × gradient 1
    }

    func testPatienceStopsAfterThatManyEvaluationsWithoutImprovement() throws {
        let task = ScriptedTask(stepsPerEpoch: 1, validationLosses: [3, 2, 2.5, 2.1, 2.0, 1.0])
        let t = trainer(task, steps: 100, every: 1)
        t.options.patience = 3
        let outcome = try t.run()
        XCTAssertEqual(outcome.reason, .earlyStopped)
        XCTAssertEqual(outcome.steps, 5)            // best at 2 (step 2); 2.5, 2.1, 2.0 do not beat it
        XCTAssertEqual(outcome.best, 2)
    }

    func testPlateauCutsTheRateAfterPatienceEvaluations() throws {
        let task = ScriptedTask(stepsPerEpoch: 1, validationLosses: [1, 1, 1, 1, 1])
        let t = trainer(task, steps: 5, every: 1, lr: 0.1)
        t.options.schedule = .plateau(factor: 0.5, patience: 2)
        var rates: [Float] = []
        _ = try t.run(report: { if case .step = $0 { rates.append(t.optimizer.learningRate) } })
        // Evaluation 1 sets the best; 2 and 3 do not improve: × 0.5 from step 4 on; 4, 5: × 0.5 again after step 5.
        XCTAssertEqual(rates, [0.1, 0.1, 0.1, 0.05, 0.05])
        XCTAssertEqual(t.learningRateScale, 0.25)
    }

    func testAMetricTargetStopsTheRun() throws {
        let task = ScriptedTask(stepsPerEpoch: 1, validationLosses: [1])
        task.accuracy = [0.5, 0.9, 1, 1]
        let t = trainer(task, steps: 10, every: 2)
        t.options.monitor = .metric("accuracy")
        t.options.target = 1
        let outcome = try t.run()
        XCTAssertEqual(outcome.reason, .reachedTarget)
        XCTAssertEqual(outcome.steps, 6)
        XCTAssertEqual(outcome.best, 1)
    }

    func testSchedules() {
        let step = LearningRateSchedule.stepDecay(every: 0, gamma: 0.5)
        XCTAssertEqual((0..<7).map { step.rate(base: 1, step: $0, totalSteps: 7, stepsPerEpoch: 3) }, [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        let cosine = LearningRateSchedule.cosine(warmup: 4, minimum: 0.1)
        XCTAssertEqual(cosine.rate(base: 2, step: 0, totalSteps: 14), 0.5)            // warm-up: 1/4 of the rate
        XCTAssertEqual(cosine.rate(base: 2, step: 3, totalSteps: 14), 2)
        XCTAssertEqual(cosine.rate(base: 2, step: 4, totalSteps: 14), 2)              // the cosine starts at the top
        XCTAssertEqual(cosine.rate(base: 2, step: 13, totalSteps: 14), 0.2, accuracy: 1e-6)   // and ends at the minimum
        XCTAssertEqual(cosine.rate(base: 2, step: 8, totalSteps: 14), 1.1 + 0.9 * Float(cos(Double.pi * 4 / 9)), accuracy: 1e-6)
        XCTAssertThrowsError(try LearningRateSchedule.plateau(factor: 1.5, patience: 1).validate())
        for s in [LearningRateSchedule.constant, step, cosine, .plateau(factor: 0.3, patience: 2)] {
            let object = try? JSONSerialization.jsonObject(with: Data(s.json.utf8)) as? [String: Any]
            XCTAssertEqual(try LearningRateSchedule(json: object), s)
        }
    }

    /// `averageDecay`: evaluations and observers see the moving average (with the warm-up), a
    /// checkpoint's state holds the trained weights, the optimiser steps those, and a run ends
    /// with the average in the arena; a second run goes on from the trained weights.
    func testTheMovingAverageIsScoredAndSavedWhileTrainingGoesOn() throws {
        let task = ScriptedTask(stepsPerEpoch: 1, validationLosses: [1])
        let t = trainer(task, steps: 6, every: 3)
        t.options.averageDecay = 0.6
        var saved: [Float] = [], seen: [Float] = []
        t.observers = [TrainingHistory { _ in
            seen.append(task.arena.values[0])
            saved += t.stateEntries().first { $0.name == "train.weights" }?.floats ?? []
        }]
        _ = try t.run()
        // By hand: w_n = −0.1·n (SGD, gradient 1); a_n = a_{n−1} + (1 − d_n)(w_n − a_{n−1}), d_n = min(0.6, (1 + n)/(10 + n)).
        var a = 0.0, expected: [Double] = []
        for n in 1...9 {
            a += (1 - min(0.6, Double(1 + n) / Double(10 + n))) * (-0.1 * Double(n) - a)
            expected.append(a)
        }
        XCTAssertEqual(task.evaluatedWeights.count, 2)
        for (got, want) in zip(task.evaluatedWeights + seen, [expected[2], expected[5], expected[2], expected[5]]) {
            XCTAssertEqual(Double(got), want, accuracy: 1e-6)
        }
        XCTAssertEqual(saved.count, 2)
        XCTAssertEqual(saved[0], -0.3, accuracy: 1e-6)
        XCTAssertEqual(saved[1], -0.6, accuracy: 1e-6)
        XCTAssertEqual(Double(task.arena.values[0]), expected[5], accuracy: 1e-6)
        t.options.totalSteps = 9
        _ = try t.run()
        XCTAssertEqual(Double(task.arena.values[0]), expected[8], accuracy: 1e-6)
        XCTAssertEqual(saved.last!, -0.9, accuracy: 1e-6, "training went on from the trained weights")
        // Without the option nothing is averaged and no trained weights are saved.
        let plain = ScriptedTask(stepsPerEpoch: 1, validationLosses: [1])
        let p = trainer(plain, steps: 6, every: 3)
        _ = try p.run()
        XCTAssertEqual(plain.evaluatedWeights.count, 2)
        XCTAssertEqual(plain.evaluatedWeights[0], -0.3, accuracy: 1e-6)
        XCTAssertEqual(plain.evaluatedWeights[1], -0.6, accuracy: 1e-6)
        XCTAssertFalse(p.stateEntries().contains { $0.name == "train.weights" })
    }

    func testDivergenceThrowsBeforeAnyObserverSeesTheWeights() throws {
        final class Diverging: TrainingObserver {
            var evaluations = 0
            func didEvaluate(_ record: TrainingRecord) throws { evaluations += 1 }
        }
        let task = ScriptedTask(stepsPerEpoch: 1, validationLosses: [1])
        let t = trainer(task, steps: 4, every: 2, lr: 3e38)
        let observer = Diverging()
        t.observers = [observer]
        XCTAssertThrowsError(try t.run()) { XCTAssertTrue("\($0)".hasPrefix("training diverged at step 2"), "\($0)") }
        XCTAssertEqual(observer.evaluations, 0)
    }
}
