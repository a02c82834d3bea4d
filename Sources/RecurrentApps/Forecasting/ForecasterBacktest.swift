import Foundation
import Recurrent

/// A forecaster's rolling-origin backtest on a table (`rnn forecast backtest`): the model is
/// fitted once on the values before each series' first window (or taken from a checkpoint that
/// has not seen them), then forecasts every window from its own history, beside the naive and
/// seasonal naive forecasts (`Backtest.run`, `BacktestReport`).
public struct ForecasterBacktest {
    /// The forecaster that was backtested.
    public let forecaster: Forecaster
    /// The scores; nil when `shouldStop` ended the fit (nothing was forecast).
    public let report: BacktestReport?

    /// Fits (or loads) and backtests.
    ///
    /// Window k of K starts at oₖ = n − H − (K−1−k)·S (`Backtest.origins`). Fitting needs
    /// C + 2H values before the first origin (training windows and the held-out last H), so a
    /// series needs C + 2H + H + (K−1)·S values; a checkpoint only needs C before it.
    /// - Parameters:
    ///   - table: the series; each is cut at its first origin for the fit.
    ///   - options: the forecaster's options (H is the backtest's horizon too; with a checkpoint,
    ///     only H and, when given, the season of the baselines are read).
    ///   - windows: K ≥ 1 per series.
    ///   - stride: S ≥ 1 between origins; nil for H.
    ///   - levels: the quantile levels of every forecast.
    ///   - checkpoint: a forecaster checkpoint to backtest instead of fitting one.
    ///   - modelFolder: where the fit writes its run (checkpoints, metrics.jsonl, loss.svg).
    ///   - shouldStop, report: as `Forecaster.init(fitting:…)`.
    /// - Throws: `RecurrentError.invalidArgument` for a series too short for its windows, or a
    ///   checkpoint fitted on values at or after a series' first window; what fitting and
    ///   forecasting throw.
    public init(_ table: TimeSeriesTable, options: ForecasterOptions, windows: Int, stride: Int? = nil,
                levels: [Double] = [0.1, 0.5, 0.9], checkpoint: String? = nil, modelFolder: String? = nil,
                shouldStop: () -> Bool = { false }, report: (TrainingEvent) -> Void = { _ in }) throws {
        try options.validate()
        try Forecast.checkLevels(levels)
        let series = table.series
        let h = options.horizon
        let forecaster: Forecaster
        let season: Int
        let minimumHistory: Int
        if let checkpoint {
            forecaster = try Forecaster(contentsOf: checkpoint)
            season = options.season ?? forecaster.options.season!
            minimumHistory = forecaster.options.context!
            let origins = try Self.firstOrigins(series, horizon: h, windows: windows, stride: stride,
                                                minimumHistory: max(minimumHistory, season, 2))
            for (s, o) in zip(series, origins) {
                guard let last = forecaster.lastTrainingTimes[s.id], last >= s.times[o] else { continue }
                let when = { ForecastWriter.timeText($0, timeKind: table.timeKind) }
                throw RecurrentError.invalidArgument(
                    name: "checkpoint", value: checkpoint,
                    expected: "a model fitted on values before the backtest's windows: it saw \(s.id.isEmpty ? "the series" : "series '\(s.id)'") "
                        + "up to \(when(last)), and the first window starts at \(when(s.times[o])); backtest without --checkpoint to fit "
                        + "on the values before the windows")
            }
        } else {
            let resolved = Forecaster.resolve(options, series: series, timeKind: table.timeKind).options
            season = resolved.season!
            minimumHistory = resolved.context! + 2 * h
            let origins = try Self.firstOrigins(series, horizon: h, windows: windows, stride: stride,
                                                minimumHistory: max(minimumHistory, season, 2))
            // Each series up to its first window: the fit sees nothing the windows forecast.
            let past = zip(series, origins).map { s, o in
                var p = s
                p.times = Array(s.times[..<o])
                p.values = Array(s.values[..<o])
                p.lines = Array(s.lines[..<o])
                p.covariates = s.covariates.mapValues { Array($0[..<o]) }
                return p
            }
            forecaster = try Forecaster(fitting: past, timeKind: table.timeKind, options: resolved, output: modelFolder,
                                        shouldStop: shouldStop, report: report)
            if forecaster.summary.reason == .interrupted {
                self.forecaster = forecaster
                self.report = nil
                return
            }
        }
        self.forecaster = forecaster
        self.report = try Backtest.run(series: series, horizon: h, windows: windows, stride: stride, season: season,
                                       minimumHistory: minimumHistory) { i, o in
            try forecaster.forecast(series[i], horizon: h, levels: levels, origin: o)
        }
    }

    /// Each series' first origin, with `Backtest.origins`' check that it has the history, naming
    /// the series that does not.
    private static func firstOrigins(_ series: [TimeSeriesTable.Series], horizon: Int, windows: Int, stride: Int?,
                                     minimumHistory: Int) throws -> [Int] {
        try series.map { s in
            do {
                return try Backtest.origins(length: s.values.count, horizon: horizon, windows: windows, stride: stride,
                                            minimumHistory: minimumHistory)[0]
            } catch let RecurrentError.invalidArgument(_, value, expected) {
                throw RecurrentError.invalidArgument(name: "length of \(s.id.isEmpty ? "the series" : "series '\(s.id)'")",
                                                     value: value, expected: expected)
            }
        }
    }
}
