import XCTest
import Recurrent
import RecurrentApps

/// The README's library example, verbatim in substance: it must compile and run.
final class ReadmeExampleTests: XCTestCase {
    func testLibraryExample() throws {
        // A 2-layer LSTM over 8 features, batch-first, PyTorch's parameter names and layout.
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(8), kind: .lstm, hiddenSize: 64, layers: 2, outputs: 1, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 42)          // every parameter in one block
        let optimizer = Adam(arena: arena, learningRate: 1e-3)
        let workspace = SequenceModelWorkspace()
        var rng = SeededGenerator(seed: 1)

        let (b, t) = (16, 20)
        let x = [Float](repeating: 0.5, count: b * t * 8), target = [Float](repeating: 1, count: b)
        var y = [Float](repeating: 0, count: b), dy = y
        model.forward(features: x, batch: b, steps: t, readout: .lastStep, output: &y, rng: &rng, workspace: workspace, arena: arena)
        let loss = Loss.meanSquaredError(y, target: target, count: b, gradient: &dy)
        arena.zeroGradients()
        model.backward(features: x, batch: b, steps: t, readout: .lastStep, outputGradient: dy, workspace: workspace, arena: arena)
        GradientClipping.clip(arena, maxNorm: 5)
        optimizer.step(arena)

        XCTAssertTrue(loss.isFinite)
        XCTAssertNotNil(arena["rnn.weight_hh_l1"])
        XCTAssertGreaterThan(GradientClipping.globalNorm(arena), 0)
    }
}

final class ReadmeTaskExampleTests: XCTestCase {
    /// The README's three-call task API, on generated data.
    func testTaskExample() throws {
        let dir = TemporaryFolder()
        let lines = (0..<80).map { i in "{\"input\": \"\(i % 2 == 0 ? "good fine" : "bad awful")\", \"target\": \"\(i % 2 == 0 ? "pos" : "neg")\"}" }
        let train = dir.write("train.jsonl", lines.joined(separator: "\n"))
        var options = TaskTrainingOptions(kind: .classify)
        options.epochs = 2
        options.hiddenSize = 8
        let trainer = try TaskTrainer(data: train, validation: nil, options: options, output: dir.file("c"))
        _ = try trainer.run()
        let predictor = try TaskPredictor(checkpoint: dir.file("c/best.safetensors"))
        let (predictions, _) = try predictor.predict(data: train)
        let metrics = try predictor.evaluate(data: train).metrics
        let outputs = try predictor.predict([Example(input: .text("a fine film"))])   // typed, in memory
        let label = outputs[0].prediction.map(predictor.describe)
        XCTAssertEqual(predictions.count, 80)
        XCTAssertEqual(metrics.map(\.0), ["accuracy", "macro_f1", "unknown_rate"])
        XCTAssertTrue(["pos", "neg"].contains(label ?? ""))
        XCTAssertNotNil(outputs[0].unknownRate)
    }
}

/// The README's "your own model in the one trainer" example: a GRU learns to sum a sequence.
final class ReadmeTrainerExampleTests: XCTestCase {
    /// Many to one: the sum of T numbers drawn from U(0, 1).
    final class SumTask: TrainingTask {
        let model: SequenceModel
        let arena: ParameterArena
        let workspace = SequenceModelWorkspace()
        let (b, t) = (32, 10)
        var x: [Float] = [], y: [Float] = [], output: [Float], gradient: [Float]
        var stepsPerEpoch: Int { 100 }

        init() throws {
            var layout = ParameterLayout()
            model = try SequenceModel(input: .features(1), kind: .gru, hiddenSize: 32, outputs: 1, layout: &layout)
            arena = ParameterArena(layout: layout, seed: 1)
            output = [Float](repeating: 0, count: b)
            gradient = output
        }

        func makeBatch(_ rng: inout SeededGenerator) {
            x = (0..<(b * t)).map { _ in rng.nextUniform() }
            y = (0..<b).map { r in x[(r * t)..<((r + 1) * t)].reduce(0, +) }
        }

        func batch(step: Int, rng: inout SeededGenerator) { makeBatch(&rng) }

        func forward(_: Void, training: Bool, rng: inout SeededGenerator) {
            model.forward(features: x, batch: b, steps: t, readout: .lastStep, output: &output, training: training,
                          rng: &rng, workspace: workspace, arena: arena)
        }

        func loss(_: Void) -> BatchLoss {
            BatchLoss(sum: Double(Loss.meanSquaredError(output, target: y, count: b, gradient: &gradient)), count: 1)
        }

        func backward(_: Void) {
            model.backward(features: x, batch: b, steps: t, readout: .lastStep, outputGradient: gradient,
                           workspace: workspace, arena: arena)
        }

        func tokens(in _: Void) -> Int { b * t }

        /// The loss on one fixed batch that training never sees.
        func evaluate() -> Evaluation? {
            var held = SeededGenerator(seed: 99)
            makeBatch(&held)
            forward((), training: false, rng: &held)
            return Evaluation(loss: loss(()).mean)
        }
    }

    func testTrainerExample() throws {
        let task = try SumTask()
        var options = TrainerOptions(totalSteps: 600, evaluateEvery: 100, learningRate: 1e-2)
        options.schedule = .cosine(warmup: 50, minimum: 0.05)
        options.clip = 1
        options.patience = 3
        let trainer = Trainer(task: task, optimizer: Adam(arena: task.arena, learningRate: 1e-2), options: options,
                              rng: SeededGenerator(seed: 2))
        let history = TrainingHistory()
        trainer.observers = [history]
        let outcome = try trainer.run()

        let losses = history.records.compactMap { $0.evaluation?.loss }
        XCTAssertEqual(outcome.reason, .completed)
        XCTAssertLessThan(losses.last!, 0.05, "\(losses)")     // predicting the mean, 5, would give T/12 ≈ 0.83
        XCTAssertLessThan(losses.last!, losses.first! / 10, "\(losses)")
    }

    /// The README's time-series example, on `rnn data series`'s generator in memory.
    func testTimeSeriesExample() throws {
        let csv = SyntheticSeries(count: 3, length: 730, noise: 1).csv(seed: 1)
        let table = try TimeSeriesTable(CSVTable(text: csv, path: "series.csv"), time: "date", target: "value",
                                        series: "series", covariates: ["day_of_week"])
        let s = table.series[0], season = table.detectedSeason ?? 1
        let past = Array(s.values.dropLast(28)), future = Array(s.values.suffix(28))
        let forecast = try Baselines.seasonalNaive(history: past, horizon: 28, season: season)
        let mase = try ForecastMetrics.mase(actual: future, forecast: forecast, history: past, season: season)
        XCTAssertEqual(season, 7)
        XCTAssertEqual(table.warnings, [])
        XCTAssertTrue(mase.isFinite && mase > 0, "\(mase)")
    }
}

final class ReadmeForecastExampleTests: XCTestCase {
    /// The README's forecasting example, on generated series and with a small model.
    func testForecastExample() throws {
        let dir = TemporaryFolder()
        let sales = (0..<120).map { 10 + 3 * sin(2 * Double.pi * Double($0) / 7) + Double($0 % 5) * 0.1 }
        let visits = sales.map { 2 * $0 + 1 }
        var options = ForecasterOptions(horizon: 14)
        (options.hiddenSize, options.layers, options.epochs) = (8, 1, 2)
        let forecaster = try Forecaster(fitting: [sales, visits], options: options)
        let next = try forecaster.forecast(history: sales)
        let band = (next.quantile(0.1)!, next.quantile(0.9)!)
        XCTAssertEqual(next.horizon, 14)
        XCTAssertTrue(zip(band.0, band.1).allSatisfy { $0 < $1 })

        let csv = dir.write("series.csv", SyntheticSeries(count: 2, length: 200).csv(seed: 1))
        let table = try TimeSeriesTable(CSVTable(contentsOf: csv), time: "date", target: "value", series: "series")
        options.epochs = 2
        let model = try Forecaster(fitting: table.series, timeKind: table.timeKind, options: options, output: dir.file("fc"))
        let forecasts = try model.forecast(table.series, levels: [0.05, 0.5, 0.95])
        let backtest = try ForecasterBacktest(table, options: options, windows: 5).report!
        XCTAssertEqual(forecasts.map(\.series), ["s1", "s2"])
        XCTAssertEqual(backtest.windowsRun.count, 10)
        XCTAssertTrue(backtest.overall.model.mase.isFinite)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("fc/best.safetensors")))
    }
}
