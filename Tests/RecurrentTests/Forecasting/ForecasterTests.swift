import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// The forecaster: its window features by hand, scaling, quantiles and refusals, determinism and
/// checkpoints, that it learns a seasonal series better than the naive forecast, and its errors.
final class ForecasterTests: XCTestCase {
    /// y = 10 + 3 sin(2πt/7) + N(0, noise²), t = 0..<n.
    func seasonal(_ n: Int, noise: Double = 0.3, seed: UInt64 = 5) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { 10 + 3 * sin(2 * Double.pi * Double($0) / 7) + noise * Double(rng.nextNormal()) }
    }

    /// A small, fast model: C = 8, H = 3, m = 7.
    func smallOptions(epochs: Int = 2) -> ForecasterOptions {
        var o = ForecasterOptions(horizon: 3)
        (o.context, o.season, o.hiddenSize, o.layers, o.epochs, o.batch, o.patience) = (8, 7, 8, 1, epochs, 16, nil)
        return o
    }

    func expectError(_ contains: [String], _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for part in contains { XCTAssertTrue(text.contains(part), "'\(part)' not in: \(text)", file: file, line: line) }
        }
    }

    // MARK: Features

    func testFeaturesOfAHandCheckedWindow() throws {
        // Daily from Saturday 2023-12-30: index 2 is Monday 2024-01-01. m = 3, C = 4, H = 2, origin 6.
        let day = 86_400.0, start = Double(ISODate.daysFromCivil(year: 2023, month: 12, day: 30)) * day
        let values: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let times = values.indices.map { start + Double($0) * day }
        let calendar = ForecastFeatures.Calendar(timeKind: .date, step: day, season: 3, enabled: true)
        XCTAssertEqual(calendar, .weekdayAndYearDay)
        let features = ForecastFeatures(season: 3, calendar: calendar, covariates: ["price"])
        XCTAssertEqual(features.names, ["target", "observed", "seasonal_naive", "horizon", "weekday_sin", "weekday_cos",
                                        "year_day_sin", "year_day_cos", "covariate:price"])
        let price = values.map { $0 / 10 }
        let series = ForecastFeatures.Series(id: "a", values: values, times: times, step: day, scale: 2, covariates: [price])
        let d = features.count
        var window = [Float](repeating: .nan, count: 6 * d)
        let level = try features.fill(&window, series: series, origin: 6, context: 4, horizon: 2)
        XCTAssertEqual(level, 4.5)   // mean of y[2..<6] = 3, 4, 5, 6
        func row(_ k: Int) -> [Float] { Array(window[(k * d)..<((k + 1) * d)]) }
        // Context: scaled target, observed, seasonal naive (y[t−3], or y[t−1] when t < 3), horizon 0.
        XCTAssertEqual(Array(row(0)[0..<4]), [-0.75, 1, -1.25, 0])     // t = 2: no full season before → y[1] = 2
        XCTAssertEqual(Array(row(1)[0..<4]), [-0.25, 1, -1.75, 0])     // t = 3: y[0] = 1
        XCTAssertEqual(Array(row(3)[0..<4]), [0.75, 1, -0.75, 0])      // t = 5: y[2] = 3
        // Future: no target, not observed, the seasonal naive forecast from the origin, (h+1)/H.
        let naive = try Baselines.seasonalNaive(history: Array(values[..<6]), horizon: 2, season: 3)
        XCTAssertEqual(naive, [4, 5])
        XCTAssertEqual(Array(row(4)[0..<4]), [0, 0, Float((naive[0] - 4.5) / 2), 0.5])
        XCTAssertEqual(Array(row(5)[0..<4]), [0, 0, Float((naive[1] - 4.5) / 2), 1])
        // Monday 1 January: weekday 0 and year day 0 → (sin, cos) = (0, 1) both.
        XCTAssertEqual(Array(row(0)[4..<8]), [0, 1, 0, 1])
        // Friday 5 January 2024 (a leap year): weekday 4 of 7, year day 4 of 366.
        let friday = row(4)
        XCTAssertEqual(friday[4], Float(sin(2 * Double.pi * 4 / 7)), accuracy: 1e-6)
        XCTAssertEqual(friday[5], Float(cos(2 * Double.pi * 4 / 7)), accuracy: 1e-6)
        XCTAssertEqual(friday[6], Float(sin(2 * Double.pi * 4 / 366)), accuracy: 1e-6)
        XCTAssertEqual((0..<6).map { row($0)[8] }, price[2..<8].map { Float($0) })
        XCTAssertFalse(window.contains { $0.isNaN }, "every entry written")
    }

    func testCalendarChoiceAndSeasonPhase() {
        let hour = 3_600.0, day = 24 * hour
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .date, step: hour, season: 24, enabled: true), .hourAndWeekday)
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .date, step: 7 * day, season: 52, enabled: true), .yearDay)
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .date, step: 30.436875 * day, season: 12, enabled: true), .month)
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .date, step: day, season: 7, enabled: false), .none)
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .number, step: 1, season: 7, enabled: true), .seasonPhase)
        XCTAssertEqual(ForecastFeatures.Calendar(timeKind: .number, step: 1, season: 1, enabled: true), .none)
        for calendar in ForecastFeatures.Calendar.allCases { XCTAssertEqual(calendar.columns, calendar.names.count, "\(calendar)") }
        // Plain numbers: time 10, step 2 → index 5, phase 5 mod 7 over 7; 18:00 → a quarter... three quarters of the day.
        var out: [Float] = [0, 0]
        ForecastFeatures(season: 7, calendar: .seasonPhase, covariates: []).calendarValues(time: 10, step: 2, into: &out)
        XCTAssertEqual(out[0], Float(sin(2 * Double.pi * 5 / 7)), accuracy: 1e-6)
        var hours: [Float] = [0, 0, 0, 0]
        ForecastFeatures(season: 24, calendar: .hourAndWeekday, covariates: []).calendarValues(time: 18 * hour, step: hour, into: &hours)
        XCTAssertEqual(hours[0], -1, accuracy: 1e-6)   // sin(2π·¾)
        XCTAssertEqual(hours[2], Float(sin(2 * Double.pi * 3 / 7)), accuracy: 1e-6)   // 1970-01-01, a Thursday
    }

    // MARK: Scaling

    func testScalingIsStoredAndMapsBack() throws {
        let y = seasonal(60)
        let model = try Forecaster(fitting: [y], options: smallOptions())
        let stored = model.state.scaling[0]
        let mean = y.reduce(0, +) / 60
        XCTAssertEqual(stored.id, "1")
        XCTAssertEqual(stored.mean, mean, accuracy: 1e-12)
        XCTAssertEqual(stored.scale, (y.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 60).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(model.lastTrainingTimes, ["1": 59])
        XCTAssertEqual(model.options.context, 8)
        XCTAssertEqual(model.options.season, 7)

        // μ = ℓ + s·a and σ = s·(softplus(b) + 0.001), from the network's raw outputs.
        let series = try TimeSeriesTable.Series(id: "1", times: y.indices.map(Double.init), values: y)
        let forecast = try model.forecast(series)
        let window = ForecastFeatures.Series(id: "1", values: y, times: (0..<63).map(Double.init), step: 1, scale: stored.scale,
                                             covariates: [])
        let (input, levels) = try model.network.input([(window, 60)])
        XCTAssertEqual(levels[0], y[52..<60].reduce(0, +) / 8, accuracy: 1e-12)
        var rng = SeededGenerator(seed: 0)
        let output = model.network.forward(input, batch: 1, training: false, rng: &rng)
        for h in 0..<3 {
            let (a, b) = (Double(output[(8 + h) * 2]), Double(output[(8 + h) * 2 + 1]))
            XCTAssertEqual(forecast.mean[h], levels[0] + stored.scale * a)
            XCTAssertEqual(forecast.standardDeviation[h], stored.scale * (log(1 + exp(b)) + 0.001), accuracy: 1e-12)
        }
        XCTAssertEqual(forecast.times, [60, 61, 62])

        // A new id takes its scale from its own history: a·y + b forecasts as a·μ + b, |a|·σ.
        let (a, b) = (3.5, -20.0)
        let moved = try model.forecast(TimeSeriesTable.Series(id: "new", times: series.times, values: y.map { a * $0 + b }))
        let same = try model.forecast(TimeSeriesTable.Series(id: "new", times: series.times, values: y))
        XCTAssertEqual(same.mean, forecast.mean, "the known id's stored scale is its whole history's")
        for h in 0..<3 {
            XCTAssertEqual(moved.mean[h], a * forecast.mean[h] + b, accuracy: 1e-4 * abs(a * forecast.mean[h] + b))
            XCTAssertEqual(moved.standardDeviation[h], a * forecast.standardDeviation[h], accuracy: 1e-4 * a * forecast.standardDeviation[h])
        }
    }

    // MARK: Forecasts

    func testQuantilesIncreaseAndForecastRefusesBadRequests() throws {
        var options = smallOptions()
        options.covariates = ["x"]
        let y = seasonal(60)
        let x = (0..<60).map { Double($0 % 7) }
        let series = try TimeSeriesTable.Series(id: "s", times: y.indices.map(Double.init), values: y, covariates: ["x": x])
        let model = try Forecaster(fitting: [series], timeKind: .number, options: options)
        XCTAssertEqual(model.featureNames, ["target", "observed", "seasonal_naive", "horizon", "season_phase_sin",
                                            "season_phase_cos", "covariate:x"])

        // Inside the series: the covariates come from it; at its end, from futureCovariates.
        let levels = [0.05, 0.1, 0.5, 0.9, 0.95]
        let inside = try model.forecast(series, levels: levels, origin: 50)
        XCTAssertEqual(inside.times, [50, 51, 52])
        let future = try model.forecast(series, levels: levels, futureCovariates: ["x": [4, 5, 6]])
        XCTAssertEqual(future.times, [60, 61, 62])
        for f in [inside, future] {
            for h in 0..<3 {
                for k in 1..<levels.count { XCTAssertLessThan(f.quantiles[k - 1][h], f.quantiles[k][h]) }
                XCTAssertEqual(f.quantile(0.5)![h], f.mean[h], accuracy: 1e-12)
            }
        }
        // A shorter horizon is the start of the longer one (the network reads forwards only).
        let short = try model.forecast(series, horizon: 2, origin: 50)
        XCTAssertEqual(short.mean, Array(inside.mean[..<2]))
        let partly = try model.forecast(series, horizon: 3, origin: 58, futureCovariates: ["x": [4]])
        XCTAssertEqual(partly.times, [58, 59, 60])

        expectError(["quantiles"]) { _ = try model.forecast(series, levels: [0.9, 0.1], origin: 50) }
        expectError(["horizon", "1...3"]) { _ = try model.forecast(series, horizon: 4, origin: 50) }
        expectError(["origin", "8...60"]) { _ = try model.forecast(series, origin: 7) }
        expectError(["origin"]) { _ = try model.forecast(series, origin: 61) }
        expectError(["covariate 'x'", "3 finite values"]) { _ = try model.forecast(series) }
        expectError(["covariate 'x'", "2 given"]) { _ = try model.forecast(series, futureCovariates: ["x": [1, 2]]) }
        let without = try TimeSeriesTable.Series(id: "s", times: series.times, values: y)
        expectError(["covariate", "'x'"]) { _ = try model.forecast(without, origin: 50) }

        // Many at once: the same forecasts as one by one.
        let other = try TimeSeriesTable.Series(id: "t", times: series.times, values: y.map { $0 * 2 }, covariates: ["x": x])
        let batch = try model.forecast([series, other], origins: [50, 40])
        let one = try model.forecast(other, origin: 40)
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch[1].series, "t")
        for h in 0..<3 {
            XCTAssertEqual(batch[0].mean[h], inside.mean[h], accuracy: 1e-5 * abs(inside.mean[h]))
            XCTAssertEqual(batch[1].mean[h], one.mean[h], accuracy: 1e-5 * abs(one.mean[h]))
        }
        expectError(["one origin per series"]) { _ = try model.forecast([series, other], origins: [50]) }
    }

    func testDailyDatesDetectTheSeasonAndForecastTheNextDays() throws {
        // 40 days from Monday 2024-01-01, read from a table: the season (7) and context (14) come from the dates.
        let y = seasonal(40)
        let csv = "date,v\n" + y.indices.map { "\(ISODate.dateString(days: ISODate.daysFromCivil(year: 2024, month: 1, day: 1) + $0)),\(y[$0])" }
            .joined(separator: "\n")
        let table = try TimeSeriesTable(CSVTable(text: csv), time: "date", target: "v")
        var options = ForecasterOptions(horizon: 3)
        (options.hiddenSize, options.layers, options.epochs) = (8, 1, 1)
        let model = try Forecaster(fitting: table.series, timeKind: table.timeKind, options: options)
        XCTAssertEqual(model.options.season, 7)
        XCTAssertEqual(model.options.context, 14)
        XCTAssertEqual(Array(model.featureNames[4..<8]), ["weekday_sin", "weekday_cos", "year_day_sin", "year_day_cos"])
        let forecast = try model.forecast(table.series[0])
        let february = Double(ISODate.daysFromCivil(year: 2024, month: 2, day: 10)) * 86_400
        XCTAssertEqual(forecast.times, [february, february + 86_400, february + 2 * 86_400])
        XCTAssertEqual(forecast.series, "")
        // Stopped before the first step: no evaluation, the run reads as interrupted.
        let stopped = try Forecaster(fitting: table.series, timeKind: table.timeKind, options: options, shouldStop: { true })
        XCTAssertEqual(stopped.summary.reason, .interrupted)
        XCTAssertEqual(stopped.summary.steps, 0)
        XCTAssertNil(stopped.summary.bestValidationNLL)
        // Arrays that do not make a series are refused.
        expectError(["found 2 values"]) { _ = try TimeSeriesTable.Series(id: "a", times: [0, 1, 2], values: [1, 2]) }
        expectError(["increasing"]) { _ = try TimeSeriesTable.Series(id: "a", times: [0, 2, 1], values: [1, 2, 3]) }
    }

    // MARK: Determinism and checkpoints

    func testSameSeedSameBytesAndSaveLoadForecastsBitForBit() throws {
        let y = [seasonal(50, seed: 1), seasonal(45, seed: 2)]
        let dir = TemporaryFolder()
        let (first, second, third) = (dir.file("first"), dir.file("second"), dir.file("third"))
        let series = try y.enumerated().map { i, v in
            try TimeSeriesTable.Series(id: "s\(i)", times: v.indices.map(Double.init), values: v)
        }
        let a = try Forecaster(fitting: series, timeKind: .number, options: smallOptions(), output: first)
        _ = try Forecaster(fitting: series, timeKind: .number, options: smallOptions(), output: second)
        var reseeded = smallOptions()
        reseeded.seed = 2
        _ = try Forecaster(fitting: series, timeKind: .number, options: reseeded, output: third)
        func bytes(_ folder: String, _ name: String) throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
        }
        XCTAssertEqual(try bytes(first, "best.safetensors"), try bytes(second, "best.safetensors"))
        XCTAssertEqual(try bytes(first, "last.safetensors"), try bytes(second, "last.safetensors"))
        XCTAssertNotEqual(try bytes(first, "best.safetensors"), try bytes(third, "best.safetensors"))
        for name in ["metrics.jsonl", "loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: (first as NSString).appendingPathComponent(name)), name)
        }

        // 2 epochs of ⌈windows/B⌉ steps; the windows of each series are n − C − 2H + 1.
        XCTAssertEqual(a.summary.trainingWindows, (50 - 14 + 1) + (45 - 14 + 1))
        XCTAssertEqual(a.summary.validationWindows, 2)
        XCTAssertEqual(a.summary.steps, 2 * ((a.summary.trainingWindows + 15) / 16))
        XCTAssertEqual(a.summary.reason, .completed)
        XCTAssertNotNil(a.summary.bestValidationNLL)

        // The forecaster keeps the best weights: best.safetensors is what it saves.
        let saved = (first as NSString).appendingPathComponent("saved.safetensors")
        try a.save(to: saved)
        XCTAssertEqual(try bytes(first, "saved.safetensors"), try bytes(first, "best.safetensors"))
        for path in [saved, (first as NSString).appendingPathComponent("last.safetensors")] {
            let b = try Forecaster(contentsOf: path)
            XCTAssertEqual(b.options, a.options)
            XCTAssertEqual(b.timeKind, .number)
            XCTAssertEqual(b.featureNames, a.featureNames)
            XCTAssertEqual(b.lastTrainingTimes, ["s0": 49, "s1": 44])
            XCTAssertEqual(b.summary, a.summary)
            if path == saved {
                XCTAssertEqual(try b.forecast(series, origins: [30, 40]), try a.forecast(series, origins: [30, 40]))
                XCTAssertEqual(try b.forecast(history: y[0]), try a.forecast(history: y[0]))
            }
        }
        // A folder that holds a checkpoint is refused.
        expectError(["already holds a checkpoint"]) {
            _ = try Forecaster(fitting: series, timeKind: .number, options: smallOptions(), output: first)
        }
    }

    // MARK: Learning

    func testBeatsTheNaiveForecastOnANoisySeasonalSeries() throws {
        let y = seasonal(300)
        var options = ForecasterOptions(horizon: 7)
        (options.season, options.hiddenSize, options.layers, options.epochs, options.batch, options.learningRate) = (7, 16, 1, 12, 32, 1e-2)
        let model = try Forecaster(fitting: [y], options: options)
        let n = y.count, h = 7
        let forecast = try model.forecast(TimeSeriesTable.Series(id: "1", times: y.indices.map(Double.init), values: y), origin: n - h)
        let actual = Array(y[(n - h)...])
        let naive = try Baselines.naive(history: Array(y[..<(n - h)]), horizon: h)
        let seasonalNaive = try Baselines.seasonalNaive(history: Array(y[..<(n - h)]), horizon: h, season: 7)
        let modelMAE = try ForecastMetrics.mae(actual: actual, forecast: forecast.mean)
        let naiveMAE = try ForecastMetrics.mae(actual: actual, forecast: naive)
        let seasonalMAE = try ForecastMetrics.mae(actual: actual, forecast: seasonalNaive)
        XCTAssertLessThan(modelMAE, naiveMAE, "model MAE \(modelMAE), naive \(naiveMAE)")
        // Stronger: an untrained network beats the naive forecast here (it reads the seasonal
        // naive), but not the seasonal naive itself (measured: 0.18 trained, 2.0 untrained, 0.33).
        XCTAssertLessThan(modelMAE, seasonalMAE, "model MAE \(modelMAE), seasonal naive \(seasonalMAE)")
        // The predictive σ learns the noise's 0.3 (about 1.5 untrained).
        let meanSD = forecast.standardDeviation.reduce(0, +) / Double(h)
        XCTAssertTrue(meanSD > 0.15 && meanSD < 0.6, "mean σ \(meanSD)")
    }

    // MARK: Errors

    func testRefusesShortSeriesUnknownCovariatesAndOtherCheckpoints() throws {
        expectError(["series '2'", "13 steps", "at least C + 2H = 8 + 2·3 = 14", "smaller --context or --horizon"]) {
            _ = try Forecaster(fitting: [seasonal(40), seasonal(13)], options: smallOptions())
        }
        var options = smallOptions()
        options.covariates = ["price"]
        expectError(["covariate", "price", "it has none"]) { _ = try Forecaster(fitting: [seasonal(40)], options: options) }
        var bad = ForecasterOptions(horizon: 0)
        expectError(["horizon"]) { try bad.validate() }
        bad = ForecasterOptions(horizon: 2)
        (bad.context, bad.season) = (5, 7)
        expectError(["context", "season 7"]) { try bad.validate() }
        bad = ForecasterOptions(horizon: 2)
        bad.covariates = ["a", "a"]
        expectError(["covariates"]) { try bad.validate() }

        let dir = TemporaryFolder()
        func write(_ metadata: [String: String], _ name: String) throws -> String {
            let path = dir.file(name)
            let tensors = (0..<4).map { SafetensorsFile.Entry("w\($0)", shape: [1], floats: [1]) }
            try SafetensorsFile.encode(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path))
            return path
        }
        expectError(["rnn predict"]) { _ = try Forecaster(contentsOf: try write(["task": "{}"], "task.safetensors")) }
        expectError(["rnn sample"]) { _ = try Forecaster(contentsOf: try write(["config": "{}"], "char.safetensors")) }
        expectError(["rnn forecast fit"]) { _ = try Forecaster(contentsOf: try write([:], "plain.safetensors")) }

        // A forecaster's metadata on tensors that do not fit it, or tampered with.
        let model = try Forecaster(fitting: [seasonal(40)], options: smallOptions(epochs: 1))
        var json = model.state.json
        expectError(["missing tensor"]) { _ = try Forecaster(contentsOf: try write(["forecaster": json], "empty.safetensors")) }
        json = json.replacingOccurrences(of: "\"layers\": 1", with: "\"layers\": 60")
        expectError(["60 layers", "only 4 tensors"]) { _ = try Forecaster(contentsOf: try write(["forecaster": json], "deep.safetensors")) }
        json = json.replacingOccurrences(of: "\"layers\": 60", with: "\"layers\": 5000")
        expectError(["layers '5000'"]) { _ = try Forecaster(contentsOf: try write(["forecaster": json], "huge.safetensors")) }
        let renamed = model.state.json.replacingOccurrences(of: "\"seasonal_naive\"", with: "\"other\"")
        expectError(["feature_names"]) { _ = try Forecaster(contentsOf: try write(["forecaster": renamed], "names.safetensors")) }
    }
}
