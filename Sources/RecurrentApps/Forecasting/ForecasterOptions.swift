import Foundation
import Recurrent

/// How to fit a `Forecaster` (`rnn forecast fit`): the forecast's shape (horizon H, context C,
/// season m), its inputs (covariates, calendar features), the network and the training run.
///
/// The defaults work without tuning: up to 100 epochs, ended by early stopping after 10 without
/// a better validation NLL; the learning rate halved after 2 (as `rnn fit`), Adam, clipping at 5.
public struct ForecasterOptions: Sendable, Equatable {
    /// Steps forecast from each origin, H ≥ 1.
    public var horizon: Int
    /// Steps of history the network reads before each origin, C; nil → max(2m, 2H, 8).
    public var context: Int?
    /// The season m; nil → detected from the step of date times (`Baselines.season(dateStep:)`), else 1.
    public var season: Int?
    /// Known-in-advance columns fed to the network at every step (their future values are
    /// needed to forecast).
    public var covariates: [String] = []
    /// Calendar features of date times (hour, day of week, day of year or month, from the
    /// step), or the season's phase for plain-number times with m > 1.
    public var calendarFeatures = true
    public var cell: CellKind = .lstm
    public var hiddenSize = 64
    public var layers = 2
    /// Dropout between stacked layers.
    public var dropout: Float = 0
    /// At most this many passes over the training windows.
    public var epochs = 100
    /// Windows per optimiser step, B.
    public var batch = 64
    public var learningRate: Float = 1e-3
    /// Stop after this many epochs without a better validation NLL; nil never stops early.
    public var patience: Int? = 10
    public var seed: UInt64 = 1
    /// The CSV columns the model is fitted on, kept in its checkpoint so that `rnn forecast
    /// predict` reads the same ones by default; nil for data that did not come from a table.
    public var columns: ForecastColumns?

    /// The defaults, forecasting `horizon` steps.
    public init(horizon: Int) { self.horizon = horizon }

    /// The context C these options give for season m: the one set, else max(2m, 2H, 8).
    public func resolvedContext(season m: Int) -> Int { context ?? max(2 * m, 2 * horizon, 8) }

    /// Checks every value, naming the command-line flag of the first bad one.
    /// - Throws: `RecurrentError.invalidArgument` with the flag, the value and what is accepted.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ expected: String) throws {
            try require(ok, .invalidArgument(name: name, value: "\(value)", expected: expected))
        }
        try check(horizon >= 1 && horizon <= 100_000, "horizon", horizon, "1...100000")
        if let context { try check(context >= 1 && context <= 1_000_000, "context", context, "1...1000000") }
        if let season { try check(season >= 1 && season <= 100_000, "season", season, "1...100000 (1: no season)") }
        if let season, let context {
            // The seasonal-naive input of the forecast steps reads a full season before the origin.
            try check(context >= season, "context", context,
                      "at least the season \(season) (the seasonal-naive input reads one season back); "
                      + "give a longer --context or a shorter --season")
        }
        for (i, name) in covariates.enumerated() {
            try check(!name.isEmpty, "covariates", "", "column names, none empty")
            try check(!covariates[..<i].contains(name), "covariates", name, "each column once")
        }
        try check(hiddenSize >= 1 && hiddenSize <= 65_536, "hidden", hiddenSize, "1...65536")
        try check(layers >= 1 && layers <= 64, "layers", layers, "1...64")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "0 <= p < 1")
        try check(epochs >= 1 && epochs <= 1_000_000, "epochs", epochs, "1...1000000")
        try check(batch >= 1 && batch <= 100_000, "batch", batch, "1...100000")
        try check(learningRate > 0 && learningRate.isFinite, "lr", learningRate, "a positive number")
        try check((patience ?? 1) >= 1, "patience", patience ?? 0, "at least 1")
    }
}

/// The columns of a CSV table a forecaster reads: the time, the target and, for many series in
/// long format, the series id.
public struct ForecastColumns: Sendable, Equatable {
    public var time: String
    public var target: String
    public var series: String?

    public init(time: String, target: String, series: String? = nil) {
        self.time = time
        self.target = target
        self.series = series
    }
}
