import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

/// `rnn forecast`: fit a forecaster on a CSV of time series, forecast with it, backtest it.
struct ForecastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Probabilistic multi-step forecasts of time series in a CSV: fit, predict, backtest.",
        discussion: """
            The CSV has a header row; one series, or many in long format (--series names the id column). \
            Times are ISO dates (YYYY-MM-DD, date-times) or plain numbers. A global model (an encoder over the \
            last --context steps, the same network over the --horizon future steps) gives a Gaussian per step: \
            the mean and the --quantiles.

            Examples:
              rnn data series --count 3 --length 730 > series.csv
              rnn forecast fit --csv series.csv --time date --target value --series series --horizon 14 --out runs/fc
              rnn forecast predict --checkpoint runs/fc/best.safetensors --csv series.csv --svg runs/fc/plots
              rnn forecast backtest --csv series.csv --time date --target value --series series --horizon 14 --windows 5 --out runs/bt
            """,
        subcommands: [ForecastFitCommand.self, ForecastPredictCommand.self, ForecastBacktestCommand.self])
}

/// Where the series are in the CSV, shared by the three subcommands.
struct SeriesColumns: ParsableArguments {
    @Option(help: "The CSV file (header row; RFC 4180 quoting).")
    var csv: String

    @Option(help: "The time column: ISO 8601 dates or date-times, or numbers.")
    var time: String?

    @Option(help: "The column to forecast.")
    var target: String?

    @Option(help: "The series-id column, for many series in long format (default: one series).")
    var series: String?

    @Option(help: "Covariates known in advance, comma-separated column names (for predict, their future values come from --future).")
    var covariates: String?

    var covariateNames: [String] {
        (covariates ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// For fit and backtest, which have no checkpoint to name the columns: --time and --target.
    func requireColumns() throws {
        guard time != nil else { throw ValidationError("missing --time COLUMN: the time column") }
        guard target != nil else { throw ValidationError("missing --target COLUMN: the column to forecast") }
    }

    /// The table of the columns named by the flags (`requireColumns` checked them).
    func readNamed() throws -> TimeSeriesTable {
        try read(time: time!, target: target!, series: series, covariates: covariateNames)
    }

    /// Reads the table; prints its warnings (gaps, rows out of order) on standard error.
    func read(time: String, target: String, series: String?, covariates: [String]) throws -> TimeSeriesTable {
        let table = try TimeSeriesTable(CSVTable(contentsOf: csv), time: time, target: target, series: series,
                                        covariates: covariates)
        for w in table.warnings.prefix(20) { warn(w) }
        if table.warnings.count > 20 { warn("\(table.warnings.count - 20) more warnings like these") }
        return table
    }
}

/// The forecaster's shape and training, shared by fit and backtest.
struct ForecasterFlags: ParsableArguments {
    private static let defaults = ForecasterOptions(horizon: 1)

    @Option(parsing: .unconditional, help: "Steps to forecast (H).", transform: atLeast(1, "horizon"))
    var horizon: Int

    @Option(parsing: .unconditional, help: "Past steps the model reads before each forecast (C; default: max(2·season, 2·horizon, 8)).",
            transform: atLeast(1, "context"))
    var context: Int?

    @Option(parsing: .unconditional, help: "The season in steps (default: from the dates' step — 7 for daily, 12 for monthly, 24 for hourly …; 1, none, for number times).",
            transform: atLeast(1, "season"))
    var season: Int?

    @Flag(help: "No calendar features (day of week, day or month of year …) from the time column.")
    var noCalendar = false

    @Option(help: "The recurrent cell (default: \(defaults.cell.displayName)).")
    var cell: CellKind?

    @Option(parsing: .unconditional, help: "Hidden units per layer (default: \(defaults.hiddenSize)).", transform: atLeast(1, "hidden"))
    var hidden: Int?

    @Option(parsing: .unconditional, help: "Recurrent layers (default: \(defaults.layers)).", transform: atLeast(1, "layers"))
    var layers: Int?

    @Option(parsing: .unconditional, help: "Dropout between layers (default: 0).", transform: number("dropout", expected: "a number 0 <= p < 1"))
    var dropout: Float?

    @Option(parsing: .unconditional, help: "Passes over the training windows at most (default: \(defaults.epochs); early stopping usually ends the run first).",
            transform: atLeast(1, "epochs"))
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Windows per batch (default: \(defaults.batch)).", transform: atLeast(1, "batch"))
    var batch: Int?

    @Option(parsing: .unconditional, help: "Learning rate (default: \(defaults.learningRate)).",
            transform: number("lr", expected: "a positive number"))
    var lr: Float?

    @Option(parsing: .unconditional, help: "Stop after this many epochs without a better validation loss; 0: never (default: \(defaults.patience ?? 0)).",
            transform: atLeast(0, "patience"))
    var patience: Int?

    @Option(help: "Seed for the weights and the batches (default: \(defaults.seed)).", transform: parseSeed)
    var seed: UInt64?

    /// The options these flags give, with the columns and covariates of `data`.
    func options(_ data: SeriesColumns) throws -> ForecasterOptions {
        var o = ForecasterOptions(horizon: horizon)
        o.columns = ForecastColumns(time: data.time!, target: data.target!, series: data.series)
        let covariates = data.covariateNames
        o.context = context
        o.season = season
        o.covariates = covariates
        o.calendarFeatures = !noCalendar
        o.cell = cell ?? o.cell
        o.hiddenSize = hidden ?? o.hiddenSize
        o.layers = layers ?? o.layers
        o.dropout = dropout ?? o.dropout
        o.epochs = epochs ?? o.epochs
        o.batch = batch ?? o.batch
        o.learningRate = lr ?? o.learningRate
        o.patience = patience.map { $0 == 0 ? nil : $0 } ?? o.patience
        o.seed = seed ?? o.seed
        try o.validate()
        return o
    }
}

/// `--quantiles 0.1,0.5,0.9`.
func parseLevels(_ text: String) throws -> [Double] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let levels = parts.map { Double($0) }
    guard !levels.contains(nil) else {
        throw ValidationError("invalid quantiles '\(text)': expected comma-separated levels in (0, 1), such as 0.1,0.5,0.9")
    }
    do { try Forecast.checkLevels(levels.map { $0! }) } catch { throw ValidationError("\(error)") }
    return levels.map { $0! }
}

/// A line on standard error, as "warning: …".
func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

/// Trains while printing progress; stops cleanly on Ctrl-C / SIGTERM.
private func fitWithProgress(_ series: [TimeSeriesTable.Series], timeKind: TimeSeriesTable.TimeKind,
                             options: ForecasterOptions, output: String) throws -> (Forecaster, StopFlag) {
    let stop = StopFlag.install()
    let progress = ProgressPrinter()
    let forecaster = try Forecaster(fitting: series, timeKind: timeKind, options: options, output: output,
                                    shouldStop: { stop.isSet }) { progress.show($0) }
    progress.finish()
    return (forecaster, stop)
}

struct ForecastFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit one forecaster across every series of a CSV.",
        discussion: """
            The last --horizon steps of every series are held out to pick the best epoch and stop early. \
            Writes best.safetensors, last.safetensors, metrics.jsonl and loss.svg into --out.
            """)

    @OptionGroup(title: "Data") var data: SeriesColumns
    @OptionGroup(title: "Model") var model: ForecasterFlags
    @Option(help: "Output folder.") var out: String
    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws { try data.requireColumns() }

    func run() throws {
        kernelThreads.apply()
        let options = try model.options(data)
        let table = try data.readNamed()
        let (forecaster, stop) = try fitWithProgress(table.series, timeKind: table.timeKind, options: options, output: out)
        let s = forecaster.summary
        let o = forecaster.options
        let best = s.bestValidationNLL.map { String(format: "best validation NLL %.4f (per step, scaled)", $0) } ?? "no validation NLL"
        print("\(table.series.count) series, \(s.trainingWindows) training windows, \(s.epochs) epochs; horizon \(o.horizon), "
              + "context \(o.context!), season \(o.season!); \(best); checkpoints in \(out)")
        if s.reason == .interrupted {
            print("interrupted at step \(s.steps); best.safetensors holds the best weights so far")
            Foundation.exit(stop.exitStatus)
        }
    }
}

struct ForecastPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Forecast the steps after the end of every series in a CSV.",
        discussion: """
            Writes one row per series and step: time, series, mean, sd (the predictive standard deviation) \
            and one column per quantile level (CSV), or the same as JSON lines. The CSV's columns are the \
            ones the model was fitted with unless given. A model with covariates needs their future values: \
            --future FILE with the time, series and covariate columns for the next --horizon steps.
            """)

    @Option(help: "A checkpoint written by rnn forecast fit.") var checkpoint: String
    @OptionGroup(title: "Data") var data: SeriesColumns
    @Option(help: "Future covariates: a CSV with the time, series and covariate columns for the steps to forecast.")
    var future: String?
    @Option(parsing: .unconditional, help: "Steps to forecast, at most the fitted horizon (default: the fitted horizon).",
            transform: atLeast(1, "horizon"))
    var horizon: Int?
    @Option(help: "Quantile levels, comma-separated.", transform: parseLevels) var quantiles: [Double] = [0.1, 0.5, 0.9]
    @Option(help: "csv or jsonl.") var format: ForecastFormat = .csv
    @Option(help: "Write the forecasts here (default: standard output).") var out: String?
    @Option(help: "Write an SVG chart per series into this folder.") var svg: String?
    @OptionGroup var kernelThreads: KernelThreads

    func run() throws {
        kernelThreads.apply()
        let forecaster = try Forecaster(contentsOf: checkpoint)
        let columns = forecaster.options.columns
        let covariates = data.covariates == nil ? forecaster.options.covariates : data.covariateNames
        guard let time = data.time ?? columns?.time, let target = data.target ?? columns?.target else {
            throw ValidationError("give --time and --target: the checkpoint does not name the columns it was fitted on")
        }
        let seriesColumn = data.series ?? columns?.series
        let table = try data.read(time: time, target: target, series: seriesColumn, covariates: covariates)
        guard table.timeKind == forecaster.timeKind else {
            throw ValidationError("the time column holds \(table.timeKind.rawValue)s, but the model was fitted on \(forecaster.timeKind.rawValue)s")
        }
        if !covariates.isEmpty && future == nil {
            throw ValidationError("the model reads the covariates \(covariates.joined(separator: ", ")): give their values for the "
                                  + "steps to forecast with --future FILE (columns \(time)\(seriesColumn.map { ", " + $0 } ?? ""), "
                                  + "\(covariates.joined(separator: ", ")))")
        }
        let futures = try future.map {
            try FutureCovariates(CSVTable(contentsOf: $0), time: time, series: seriesColumn, covariates: covariates,
                                 timeKind: table.timeKind)
        }
        let forecasts = try table.series.map {
            try forecaster.forecast($0, horizon: horizon, levels: quantiles,
                                    futureCovariates: futures?.values(for: $0, count: horizon ?? forecaster.options.horizon, timeKind: table.timeKind))
        }
        let text = ForecastWriter.text(forecasts, timeKind: table.timeKind, format: format)
        if let out {
            try checkOutputFile(out, notOverwriting: [checkpoint, data.csv] + (future.map { [$0] } ?? []))
            try writeAtomically(Data(text.utf8), to: out)
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        if let svg {
            try writeCharts(into: svg, series: table.series) { i in
                let s = table.series[i]
                return ForecastChart.svg(title: (s.id.isEmpty ? "" : "\(s.id): ") + "forecast of \(forecasts[i].horizon) steps",
                                         times: s.times, values: s.values, forecasts: [forecasts[i]], timeKind: table.timeKind,
                                         historyPoints: chartHistory(horizon: forecasts[i].horizon))
            }
        }
    }
}

/// History shown before a forecast on its chart: four horizons, at least 60 steps.
func chartHistory(horizon: Int) -> Int { max(4 * horizon, 60) }

/// One SVG per series into `folder` (created), named after the series id (made file-safe;
/// "series.svg" for a table without ids), each written atomically.
func writeCharts(into folder: String, series: [TimeSeriesTable.Series], svg: (Int) -> String) throws {
    do {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
        throw RecurrentError.io(path: folder, reason: "cannot create the folder (\(error.localizedDescription))")
    }
    var used: Set<String> = []
    for i in series.indices {
        var name = ChartFileName.make(series[i].id)
        while used.contains(name) { name += "_" }
        used.insert(name)
        try writeAtomically(Data(svg(i).utf8), to: (folder as NSString).appendingPathComponent(name + ".svg"))
    }
}

/// A series id as a file name: letters, digits, '-', '_' and '.' kept, anything else '_'; "series" when empty.
enum ChartFileName {
    static func make(_ id: String) -> String {
        let kept = String(id.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) ? Character($0) : "_" })
        return kept.isEmpty || kept.allSatisfy({ $0 == "." }) ? "series" + kept : kept
    }
}

struct ForecastBacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Backtest a forecaster over the last --windows windows of every series, beside the naive and seasonal naive forecasts.",
        discussion: """
            Window k of K forecasts the --horizon steps after origin n − H − (K−1−k)·S (S = --stride, default H) \
            from the values before it; the last window ends at the series' end. The model is fitted once on \
            the values before each series' first origin (or taken from --checkpoint, which must not have seen \
            them), then forecasts every window from its history. Scores: MAE, RMSE, MASE, sMAPE, CRPS and the \
            coverage of each central interval. Writes metrics.json, forecasts.csv, an SVG per series and (when \
            it fits) the model's run in model/ into --out.
            """)

    @OptionGroup(title: "Data") var data: SeriesColumns
    @OptionGroup(title: "Model") var model: ForecasterFlags
    @Option(parsing: .unconditional, help: "Windows per series (K).", transform: atLeast(1, "windows")) var windows: Int = 5
    @Option(parsing: .unconditional, help: "Steps between window origins (default: the horizon).", transform: atLeast(1, "stride"))
    var stride: Int?
    @Option(help: "Quantile levels, comma-separated.", transform: parseLevels) var quantiles: [Double] = [0.1, 0.5, 0.9]
    @Option(help: "Backtest this fitted model instead of fitting one (it must not have been fitted on the windows).")
    var checkpoint: String?
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Print the metrics as JSON instead of a table.") var json = false
    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws { try data.requireColumns() }

    func run() throws {
        kernelThreads.apply()
        let options = try model.options(data)
        let table = try data.readNamed()
        try prepareFolder(out)
        let stop = StopFlag.install()
        let progress = ProgressPrinter()
        // Fitting prints progress on standard output; with --json that is for the JSON alone.
        let backtest = try ForecasterBacktest(
            table, options: options, windows: windows, stride: stride, levels: quantiles, checkpoint: checkpoint,
            modelFolder: checkpoint == nil ? (out as NSString).appendingPathComponent("model") : nil,
            shouldStop: { stop.isSet }) { event in if !json { progress.show(event) } }
        progress.finish()
        guard let report = backtest.report else {
            print("interrupted while fitting: nothing was backtested")
            Foundation.exit(stop.exitStatus)
        }
        let csv = ForecastWriter.text(backtest: report, timeKind: table.timeKind, format: .csv)
        try writeAtomically(Data(csv.utf8), to: (out as NSString).appendingPathComponent("forecasts.csv"))
        try writeAtomically(Data(report.json().utf8), to: (out as NSString).appendingPathComponent("metrics.json"))
        try writeCharts(into: out, series: table.series) { i in
            ForecastChart.svg(backtest: report, series: table.series[i], seriesIndex: i, timeKind: table.timeKind,
                              historyPoints: chartHistory(horizon: options.horizon))
        }
        if json {
            FileHandle.standardOutput.write(Data(report.json().utf8))
        } else {
            print(report.table(), terminator: "")
            print("metrics.json, forecasts.csv and charts in \(out)")
        }
    }

    /// Creates `folder`; refuses one that already holds a backtest (nothing is overwritten).
    private func prepareFolder(_ folder: String) throws {
        let metrics = (folder as NSString).appendingPathComponent("metrics.json")
        if FileManager.default.fileExists(atPath: metrics) {
            throw ValidationError("--out \(folder) already holds a backtest (metrics.json); choose another folder")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw RecurrentError.io(path: folder, reason: "cannot create the folder (\(error.localizedDescription))")
        }
    }
}
