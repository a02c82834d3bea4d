import Foundation
import Recurrent

/// The scores of a rolling-origin backtest (`Backtest.run`) for three forecasters: `model` (the
/// forecaster given to the backtest), `naive` (ŷ_{o+h} = y_{o−1}, the history's last value) and
/// `seasonal_naive` (the value one season m back), on the same windows.
///
/// Per window of H steps, actual yₕ, point forecast ŷₕ (the model's mean μₕ), history y[..<o]:
/// - MAE = (1/H) Σ |yₕ − ŷₕ|, RMSE = √((1/H) Σ (yₕ − ŷₕ)²).
/// - MASE = MAE / `ForecastMetrics.seasonalNaiveScale` of the window's history with season m;
///   when the history is not longer than m the scale uses m = 1 (the naive in-sample error).
///   A constant history has scale 0, so MASE is +∞ for any error (0 for none).
/// - sMAPE = (100/H) Σ 2|yₕ − ŷₕ| / (|yₕ| + |ŷₕ|), in percent, 0–200.
/// - CRPS: the model's is the Gaussian closed form `ForecastMetrics.crpsGaussian(μₕ, σₕ, yₕ)`
///   averaged over the H steps; a baseline is a point forecast, so its CRPS is its MAE.
/// - Coverage (the model only; empty for the baselines): for each central interval of the
///   forecast's levels (`Forecast.centralIntervals`, outermost first), the steps with
///   lower ≤ yₕ ≤ upper.
///
/// Per series: the mean of its windows' scores; coverage = steps inside / steps. Overall: the
/// mean over all windows of all series, each window counting once, and coverage over all steps.
/// In `json()` a score that is not finite (the MASE of a constant history) is written `null`.
public struct BacktestReport: Sendable {
    /// How often the actuals fell inside one central interval.
    public struct IntervalCoverage: Sendable, Equatable {
        /// The interval's quantile levels, lower < 0.5 < upper.
        public var lower: Double, upper: Double
        /// Its nominal coverage, upper − lower.
        public var nominal: Double
        /// The fraction of steps whose actual lies inside it.
        public var value: Double
    }

    /// The scores of one forecaster over a window, a series or all windows.
    public struct Scores: Sendable, Equatable {
        /// MAE, RMSE, MASE, sMAPE (%) and CRPS as defined above.
        public var mae: Double, rmse: Double, mase: Double, smape: Double, crps: Double
        /// One per central interval, outermost first; empty for the point forecasts (the baselines).
        public var coverage: [IntervalCoverage]
    }

    /// One backtest window: what was forecast, what happened, and the scores of the three forecasters.
    public struct Window: Sendable {
        /// The series' id and its index in the series given to `Backtest.run`.
        public let series: String, seriesIndex: Int
        /// The origin o: the window forecasts the indices o..<o+H from values[..<o].
        public let origin: Int
        /// The window's H times and actual values.
        public let times: [Double], actual: [Double]
        /// The model's forecast.
        public let forecast: Forecast
        /// The baselines' point forecasts (H each).
        public let naive: [Double], seasonalNaive: [Double]
        /// The window's scores.
        public let modelScores: Scores, naiveScores: Scores, seasonalNaiveScores: Scores
        /// Steps inside each central interval (for coverage over steps when windows are pooled).
        let inside: [Int]

        /// Scores the window of `s` at origin `o` (all checked by `Backtest.run`).
        init(series s: TimeSeriesTable.Series, seriesIndex: Int, origin o: Int, horizon H: Int, season m: Int,
             forecast f: Forecast) throws {
            let history = Array(s.values[..<o]), actual = Array(s.values[o..<(o + H)])
            series = s.id
            self.seriesIndex = seriesIndex
            origin = o
            times = Array(s.times[o..<(o + H)])
            self.actual = actual
            forecast = f
            naive = try Baselines.naive(history: history, horizon: H)
            seasonalNaive = try Baselines.seasonalNaive(history: history, horizon: H, season: m)
            let scaleSeason = history.count > m ? m : 1
            func point(_ p: [Double]) throws -> Scores {
                let mae = try ForecastMetrics.mae(actual: actual, forecast: p)
                return Scores(mae: mae, rmse: try ForecastMetrics.rmse(actual: actual, forecast: p),
                              mase: try ForecastMetrics.mase(actual: actual, forecast: p, history: history, season: scaleSeason),
                              smape: try ForecastMetrics.smape(actual: actual, forecast: p), crps: mae, coverage: [])
            }
            naiveScores = try point(naive)
            seasonalNaiveScores = try point(seasonalNaive)
            var model = try point(f.mean)
            var crps = 0.0
            for h in 0..<H {
                crps += try ForecastMetrics.crpsGaussian(mean: f.mean[h], standardDeviation: f.standardDeviation[h], actual: actual[h])
            }
            model.crps = crps / Double(H)
            var inside: [Int] = []
            for interval in f.centralIntervals {
                let lower = f.quantile(interval.lower)!, upper = f.quantile(interval.upper)!
                let count = (0..<H).filter { lower[$0] <= actual[$0] && actual[$0] <= upper[$0] }.count
                inside.append(count)
                // 0.95 − 0.05 is 0.8999999999999999 in binary; rounded to 12 digits it reads 0.9 in the JSON.
                let nominal = (interval.nominal * 1e12).rounded() / 1e12
                model.coverage.append(IntervalCoverage(lower: interval.lower, upper: interval.upper, nominal: nominal,
                                                       value: Double(count) / Double(H)))
            }
            modelScores = model
            self.inside = inside
        }
    }

    /// H steps per window, K windows per series, S steps between origins, the season m.
    public let horizon: Int, windows: Int, stride: Int, season: Int
    /// The quantile levels the model's forecasts carry.
    public let levels: [Double]
    /// Every window, in order: series, then origin.
    public let windowsRun: [Window]
    /// Each series' scores, in the order of the series given.
    public let perSeries: [(id: String, model: Scores, naive: Scores, seasonalNaive: Scores)]
    /// The scores over all windows of all series.
    public let overall: (model: Scores, naive: Scores, seasonalNaive: Scores)

    init(horizon: Int, windows: Int, stride: Int, season: Int, levels: [Double], windowsRun: [Window], seriesIDs: [String]) {
        self.horizon = horizon
        self.windows = windows
        self.stride = stride
        self.season = season
        self.levels = levels
        self.windowsRun = windowsRun
        func pooled(_ runs: [Window]) -> (model: Scores, naive: Scores, seasonalNaive: Scores) {
            (Self.mean(runs, \.modelScores, horizon: horizon), Self.mean(runs, \.naiveScores, horizon: horizon),
             Self.mean(runs, \.seasonalNaiveScores, horizon: horizon))
        }
        perSeries = seriesIDs.indices.map { i in
            let p = pooled(windowsRun.filter { $0.seriesIndex == i })
            return (seriesIDs[i], p.model, p.naive, p.seasonalNaive)
        }
        overall = pooled(windowsRun)
    }

    /// The mean of the windows' scores; coverage as steps inside over steps.
    static func mean(_ runs: [Window], _ scores: KeyPath<Window, Scores>, horizon: Int) -> Scores {
        let n = Double(runs.count)
        func average(_ value: (Scores) -> Double) -> Double { runs.reduce(0) { $0 + value($1[keyPath: scores]) } / n }
        var coverage = runs.first?[keyPath: scores].coverage ?? []
        for k in coverage.indices {
            coverage[k].value = Double(runs.reduce(0) { $0 + $1.inside[k] }) / (n * Double(horizon))
        }
        return Scores(mae: average(\.mae), rmse: average(\.rmse), mase: average(\.mase), smape: average(\.smape),
                      crps: average(\.crps), coverage: coverage)
    }

    /// The report as one JSON object ending in "\n", keys in this order: horizon, windows,
    /// stride, season, levels, overall {model, naive, seasonal_naive}, series [{id, model,
    /// naive, seasonal_naive}]; each scores object holds mae, rmse, mase, smape, crps and
    /// coverage [{lower, upper, nominal, value}]. Non-finite numbers are written `null`.
    public func json() -> String {
        func scores(_ s: Scores) -> String {
            JSONText.object([("mae", JSONText.number(s.mae)), ("rmse", JSONText.number(s.rmse)),
                             ("mase", JSONText.number(s.mase)), ("smape", JSONText.number(s.smape)),
                             ("crps", JSONText.number(s.crps)),
                             ("coverage", JSONText.array(s.coverage.map { c in
                                 JSONText.object([("lower", JSONText.number(c.lower)), ("upper", JSONText.number(c.upper)),
                                                  ("nominal", JSONText.number(c.nominal)), ("value", JSONText.number(c.value))])
                             }))])
        }
        func three(_ model: Scores, _ naive: Scores, _ seasonal: Scores) -> [(String, String)] {
            [("model", scores(model)), ("naive", scores(naive)), ("seasonal_naive", scores(seasonal))]
        }
        return JSONText.object([
            ("horizon", "\(horizon)"), ("windows", "\(windows)"), ("stride", "\(stride)"), ("season", "\(season)"),
            ("levels", JSONText.array(levels.map(JSONText.number))),
            ("overall", JSONText.object(three(overall.model, overall.naive, overall.seasonalNaive))),
            ("series", JSONText.array(perSeries.map { s in
                JSONText.object([("id", JSONText.string(s.id))] + three(s.model, s.naive, s.seasonalNaive))
            })),
        ]) + "\n"
    }

    /// The overall scores as a plain-text table for a terminal: a line saying what was run, then
    /// rows model, naive and seasonal naive, columns MAE, RMSE, MASE, sMAPE (%), CRPS and the
    /// coverage of each central interval ("-" for the baselines).
    public func table() -> String {
        let intervals = overall.model.coverage
        let header = ["forecaster".padding(toLength: 16, withPad: " ", startingAt: 0)]
            + (["MAE", "RMSE", "MASE", "sMAPE", "CRPS"] + intervals.map { "cov \(Self.percent($0.nominal))" }).map(Self.right)
        func row(_ name: String, _ s: Scores) -> String {
            let cells = [s.mae, s.rmse, s.mase, s.smape, s.crps].map(Self.cell)
                + intervals.indices.map { k in k < s.coverage.count ? String(format: "%.3f", s.coverage[k].value) : "-" }
            return ([name.padding(toLength: 16, withPad: " ", startingAt: 0)] + cells.map(Self.right)).joined()
        }
        let series = perSeries.count == 1 ? "1 series" : "\(perSeries.count) series"
        return ["backtest: \(series), \(windows) windows of \(horizon) steps, stride \(stride), season \(season)",
                header.joined(), row("model", overall.model), row("naive", overall.naive),
                row("seasonal naive", overall.seasonalNaive)].joined(separator: "\n") + "\n"
    }

    /// A nominal coverage as a percentage: 0.8 → "80%", 0.95 → "95%", 0.625 → "62.5%".
    static func percent(_ p: Double) -> String {
        let v = (p * 1000).rounded() / 10
        return v == v.rounded() ? "\(Int(v))%" : "\(v)%"
    }

    /// A score for the table: three decimals, or three significant digits with an exponent for
    /// very large or very small magnitudes; "inf" for +∞.
    static func cell(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        let a = abs(x)
        return a >= 1e6 || (a < 1e-3 && a > 0) ? String(format: "%.3e", x) : String(format: "%.3f", x)
    }

    /// `s` right-aligned in a column of 11.
    static func right(_ s: String) -> String { String(repeating: " ", count: max(1, 11 - s.count)) + s }
}
