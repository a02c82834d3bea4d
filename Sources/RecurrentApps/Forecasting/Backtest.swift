import Foundation
import Recurrent

/// Rolling-origin backtests: a forecaster is asked for the last K windows of H steps of each
/// series, each from the history before its window only, and scored beside the naive and the
/// seasonal naive forecasts of the same windows (`BacktestReport` defines the scores).
///
/// With n values, horizon H, K windows and stride S, window k = 0…K−1 starts at the origin
/// oₖ = n − H − (K − 1 − k)·S and forecasts the indices oₖ..<oₖ+H from values[..<oₖ]; the last
/// window ends at the series' end. S = H gives windows side by side, S = 1 windows that overlap.
public enum Backtest {
    /// The origins oₖ = n − H − (K − 1 − k)·S for k = 0…K−1, increasing (S defaults to H).
    /// - Parameters:
    ///   - length: n, the number of values in the series.
    ///   - horizon: H ≥ 1, the steps each window forecasts.
    ///   - windows: K ≥ 1.
    ///   - stride: S ≥ 1 between consecutive origins; `nil` for H.
    ///   - minimumHistory: the fewest values the first window may be forecast from (o₀ ≥ it).
    /// - Throws: `RecurrentError.invalidArgument` when H, K or S is below 1, or when o₀ falls
    ///   below `minimumHistory` (the series needs minimumHistory + H + (K − 1)·S values).
    public static func origins(length n: Int, horizon H: Int, windows K: Int, stride S: Int? = nil,
                               minimumHistory: Int) throws -> [Int] {
        let S = S ?? H
        try require(H >= 1, .invalidArgument(name: "horizon", value: "\(H)", expected: "a whole number ≥ 1"))
        try require(K >= 1, .invalidArgument(name: "backtest windows", value: "\(K)", expected: "a whole number ≥ 1"))
        try require(S >= 1, .invalidArgument(name: "backtest stride", value: "\(S)", expected: "a whole number ≥ 1"))
        let needed = minimumHistory + H + (K - 1) * S
        try require(n >= needed, .invalidArgument(
            name: "series length", value: "\(n)",
            expected: "at least \(needed) values for \(K) windows of \(H) steps \(S) apart after a history of \(minimumHistory) "
                + "(first origin \(n - H - (K - 1) * S) < \(minimumHistory)); use fewer windows, a shorter horizon or a smaller stride"))
        return (0..<K).map { k in n - H - (K - 1 - k) * S }
    }

    /// Runs `forecast(seriesIndex, origin)` on every window of every series and scores it beside
    /// the naive and the seasonal naive forecasts of the same windows (`Baselines`, season m), at
    /// the quantile levels the forecasts carry.
    ///
    /// The history of a window must hold at least max(minimumHistory, m, 2) values: the seasonal
    /// naive forecast needs one season and the MASE scale two values.
    /// - Parameters:
    ///   - series: the series to backtest, each with at least max(minimumHistory, m, 2) + H + (K − 1)·S values.
    ///   - horizon: H ≥ 1.
    ///   - windows: K ≥ 1 per series.
    ///   - stride: S ≥ 1; `nil` for H.
    ///   - season: m ≥ 1 of the seasonal naive forecast and of the MASE scale.
    ///   - minimumHistory: the fewest values a window may be forecast from.
    ///   - forecast: the forecaster: given the series' index and an origin o, a forecast of H steps
    ///     that uses `series[seriesIndex].values[..<o]` only (the backtest cannot check that).
    /// - Throws: `RecurrentError.invalidArgument` for bad H, K, S or m, a series too short for its
    ///   windows (named, with its length and the minimum), or forecasts whose levels differ;
    ///   `RecurrentError.shapeMismatch` for a forecast that does not hold H steps; whatever
    ///   `forecast` throws.
    public static func run(series: [TimeSeriesTable.Series], horizon: Int, windows: Int, stride: Int? = nil,
                           season: Int, minimumHistory: Int,
                           forecast: (_ seriesIndex: Int, _ origin: Int) throws -> Forecast) throws -> BacktestReport {
        try require(season >= 1, .invalidArgument(name: "season", value: "\(season)", expected: "a whole number ≥ 1"))
        try require(!series.isEmpty, .invalidArgument(name: "series", value: "none", expected: "at least one series to backtest"))
        let S = stride ?? horizon
        let minimum = max(minimumHistory, season, 2)
        var runs: [BacktestReport.Window] = []
        var levels: [Double]?
        for (i, s) in series.enumerated() {
            let origins: [Int]
            do {
                origins = try Self.origins(length: s.values.count, horizon: horizon, windows: windows, stride: S,
                                           minimumHistory: minimum)
            } catch let RecurrentError.invalidArgument(name, _, _) where name == "series length" {
                let needed = minimum + horizon + (windows - 1) * S
                throw RecurrentError.invalidArgument(
                    name: "series", value: s.id,
                    expected: "at least \(needed) values (it has \(s.values.count)) for \(windows) backtest windows of \(horizon) steps "
                        + "\(S) apart after a history of \(minimum); use fewer windows, a shorter horizon or a smaller stride, or drop the series")
            }
            for o in origins {
                let f = try forecast(i, o)
                try require(f.mean.count == horizon && f.standardDeviation.count == horizon
                            && f.quantiles.count == f.levels.count && f.quantiles.allSatisfy { $0.count == horizon },
                            .shapeMismatch(operation: "backtest forecast of series '\(s.id)' at origin \(o)",
                                           expected: "\(horizon) steps (the horizon) of mean, standard deviation and each quantile",
                                           found: "\(f.mean.count) means, \(f.standardDeviation.count) standard deviations"))
                if let levels {
                    try require(f.levels == levels, .invalidArgument(
                        name: "forecast levels", value: f.levels.map { "\($0)" }.joined(separator: ","),
                        expected: "the levels of the first forecast, \(levels.map { "\($0)" }.joined(separator: ",")), in every window"))
                } else {
                    levels = f.levels
                }
                runs.append(try BacktestReport.Window(series: s, seriesIndex: i, origin: o, horizon: horizon,
                                                      season: season, forecast: f))
            }
        }
        return BacktestReport(horizon: horizon, windows: windows, stride: S, season: season, levels: levels ?? [],
                              windowsRun: runs, seriesIDs: series.map(\.id))
    }
}
