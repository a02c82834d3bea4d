import Foundation
import Recurrent

/// How a forecaster's fit ended.
public struct ForecasterTrainingSummary: Sendable, Equatable {
    /// Whole epochs taken.
    public var epochs: Int
    /// Optimiser steps taken.
    public var steps: Int
    /// Why the run ended (completed, interrupted, early stopped); `interrupted` for a model
    /// loaded from a checkpoint of a run that never finished.
    public var reason: TrainingOutcome.Reason
    /// The best validation Gaussian NLL per held-out step, in scaled units (y − ℓ)/s; nil
    /// when no evaluation ran.
    public var bestValidationNLL: Double?
    /// Training windows (one per origin of every series), and validation windows (one per series).
    public var trainingWindows: Int
    public var validationWindows: Int
}

/// A probabilistic multi-step forecaster (DeepAR-style, direct): one recurrent network for all
/// the series it is fit on reads C steps of history and the H steps to forecast
/// (`ForecastFeatures`), and gives a Gaussian N(μₕ, σₕ²) for each future step h at once.
///
/// Values are scaled per window: z = (y − ℓ)/s, ℓ the mean of the window's C context values and
/// s the series' scale (the standard deviation of its training values, stored by id; a series
/// the model has not seen takes it from its own history). The network's (a, b) at a future step
/// give μ = ℓ + s·a and σ = s·(softplus(b) + 10⁻³). It is trained through the core's one
/// `Trainer` on the Gaussian negative log-likelihood of the future steps, the last H steps of
/// every series held out for validation and early stopping; it keeps the best weights.
public final class Forecaster {
    let state: ForecasterState
    let network: ForecastNetwork
    /// Index into `state.scaling` by series id.
    let scalingIndex: [String: Int]

    /// The options, with context and season resolved.
    public var options: ForecasterOptions { state.options }
    public var timeKind: TimeSeriesTable.TimeKind { state.timeKind }
    /// What each input column is: target, observed, seasonal_naive, horizon, the calendar's
    /// (sin, cos) pairs, then `covariate:NAME`.
    public var featureNames: [String] { state.features.names }
    /// The last training time of each series id (for a backtest to check it forecasts only unseen windows).
    public var lastTrainingTimes: [String: Double] {
        Dictionary(uniqueKeysWithValues: state.scaling.map { ($0.id, $0.lastTime) })
    }
    /// How the fit ended (epochs, steps, reason, best validation NLL, windows).
    public var summary: ForecasterTrainingSummary {
        state.summary ?? ForecasterTrainingSummary(epochs: 0, steps: 0, reason: .interrupted, bestValidationNLL: nil,
                                                   trainingWindows: 0, validationWindows: 0)
    }

    private init(state: ForecasterState, network: ForecastNetwork) {
        self.state = state
        self.network = network
        scalingIndex = Dictionary(uniqueKeysWithValues: state.scaling.enumerated().map { ($1.id, $0) })
    }

    /// Fits on the series (each at least C + 2H long); writes best.safetensors, last.safetensors,
    /// metrics.jsonl and loss.svg into `output` when given (a folder; refuse one that already holds a checkpoint).
    ///
    /// One epoch is ⌈windows/B⌉ steps of Adam (clipping at 5) on batches drawn with the seeded
    /// generator (the same seed gives the same checkpoint bytes); after each, the validation NLL
    /// of the held-out last H steps decides the best weights, the plateau schedule (the rate
    /// halved after 2 epochs without improvement) and early stopping (`patience`).
    /// - Parameters:
    ///   - timeKind: what the series' times are; dates choose the season (when not given) and
    ///     the calendar features.
    ///   - shouldStop: checked before every step (a signal): the run ends, keeping the best weights.
    ///   - report: sees every step and evaluation.
    /// - Throws: `RecurrentError.invalidArgument` for bad options, no series, a repeated id, a
    ///   series too short (named, with its length and what it needs) or without a covariate;
    ///   `RecurrentError.io` for an output folder that cannot be used or holds a checkpoint;
    ///   `RecurrentError.divergence` when training stops being finite.
    public convenience init(fitting series: [TimeSeriesTable.Series], timeKind: TimeSeriesTable.TimeKind, options: ForecasterOptions,
                output: String? = nil, shouldStop: () -> Bool = { false },
                report: (TrainingEvent) -> Void = { _ in }) throws {
        try options.validate()
        try require(!series.isEmpty, .invalidArgument(name: "series", value: "none", expected: "at least one series to fit"))
        var ids = Set<String>()
        for s in series {
            try require(ids.insert(s.id).inserted, .invalidArgument(name: "series id", value: s.id, expected: "each series once"))
        }
        let (resolved, medianStep) = Self.resolve(options, series: series, timeKind: timeKind)
        let (c, h, m) = (resolved.context!, options.horizon, resolved.season!)
        try require(c >= m, .invalidArgument(name: "context", value: "\(c)",
                                             expected: "at least the season \(m) (the seasonal-naive input reads one season back); "
                                             + "give a longer --context or a shorter --season"))
        for s in series {
            let named = s.id.isEmpty ? "the series" : "series '\(s.id)'"
            try require(s.values.count >= c + 2 * h, .invalidArgument(
                name: "length of \(named)", value: "\(s.values.count) steps",
                expected: "at least C + 2H = \(c) + 2·\(h) = \(c + 2 * h) steps (context \(c) and horizon \(h) in each training "
                    + "window, then the last \(h) held out for validation); give a smaller --context or --horizon"))
            if let i = s.values.firstIndex(where: { !$0.isFinite }) {
                throw RecurrentError.invalidArgument(name: "value of \(named)", value: "\(s.values[i]) at step \(i + 1)", expected: "a finite number")
            }
            for name in options.covariates where s.covariates[name] == nil {
                let known = s.covariates.keys.sorted()
                throw RecurrentError.invalidArgument(
                    name: "covariate", value: name,
                    expected: "a covariate column of \(named) (\(known.isEmpty ? "it has none" : "it has " + known.joined(separator: ", ")))")
            }
        }

        // Covariates: standardised with the mean and standard deviation of all training rows.
        let covariateMoments = options.covariates.map { name in Self.moments(series.flatMap { $0.covariates[name]! }) }
        let features = ForecastFeatures(season: m, calendar: .init(timeKind: timeKind, step: medianStep, season: m,
                                                                   enabled: options.calendarFeatures),
                                        covariates: options.covariates)
        var state = ForecasterState(options: resolved, timeKind: timeKind, features: features,
                                    scaling: series.map { s in
                                        let (mean, scale) = Self.moments(s.values)
                                        return .init(id: s.id, mean: mean, scale: scale, lastTime: s.times.last ?? 0)
                                    },
                                    covariateMean: covariateMoments.map(\.mean), covariateStd: covariateMoments.map(\.scale))
        let prepared = zip(series, state.scaling).map { s, scaling in
            ForecastFeatures.Series(id: s.id, values: s.values, times: s.times, step: s.step ?? 1, scale: scaling.scale,
                                    covariates: options.covariates.indices.map { j in
                                        s.covariates[options.covariates[j]]!.map { ($0 - state.covariateMean[j]) / state.covariateStd[j] }
                                    })
        }

        var rng = SeededGenerator(seed: options.seed)
        let network = try ForecastNetwork(features: features, context: c, horizon: h, cell: options.cell,
                                          hiddenSize: options.hiddenSize, layers: options.layers, dropout: options.dropout,
                                          seed: rng.next())
        let task = ForecastTrainingTask(network: network, series: prepared, batch: options.batch)
        var trainerOptions = TrainerOptions(totalSteps: options.epochs * task.stepsPerEpoch, evaluateEvery: task.stepsPerEpoch,
                                            learningRate: options.learningRate)
        trainerOptions.schedule = .plateau(factor: 0.5, patience: 2)
        trainerOptions.clip = 5
        trainerOptions.patience = options.patience
        let trainer = Trainer(task: task, optimizer: OptimizerKind.adam.make(arena: network.arena, learningRate: options.learningRate),
                              options: trainerOptions, rng: rng)
        let best = BestWeights(network.arena)
        trainer.observers = [best]
        var folder: RunFolder?
        if let output {
            let f = try RunFolder(output)
            if f.holdsCheckpoint || FileManager.default.fileExists(atPath: f.bestPath) {
                throw RecurrentError.io(path: output, reason: "already holds a checkpoint; choose another output folder")
            }
            folder = f
            let running = state
            // The checkpoints written during the run carry no summary: one left by a killed run reads as interrupted.
            trainer.observers.append(CheckpointWriter(
                folder: f, chartTitle: "forecast (\(options.cell.displayName))", yLabel: "Gaussian NLL",
                encodeBest: { _ in running.encode(network.arena) },
                encodeLast: { [unowned trainer] in running.encode(network.arena, training: Self.trainingFields(trainer),
                                                                  state: trainer.stateEntries()) }))
        }

        let outcome = try trainer.run(shouldStop: shouldStop, report: report)
        state.summary = ForecasterTrainingSummary(epochs: outcome.steps / task.stepsPerEpoch, steps: outcome.steps,
                                                  reason: outcome.reason, bestValidationNLL: outcome.best,
                                                  trainingWindows: task.windows.count, validationWindows: task.validation.count)
        if let folder {
            try writeAtomically(state.encode(network.arena, training: Self.trainingFields(trainer), state: trainer.stateEntries()),
                                to: folder.lastPath)
        }
        best.restore()
        if let folder { try writeAtomically(state.encode(network.arena), to: folder.bestPath) }
        self.init(state: state, network: network)
    }

    /// `options` with the season and the context a fit on `series` takes when they are not
    /// given: m from the median step of the series' times (dates: `Baselines.season(dateStep:)`;
    /// plain numbers: 1), C = `resolvedContext(season: m)`; and that median step, which also picks
    /// the calendar columns.
    public static func resolve(_ options: ForecasterOptions, series: [TimeSeriesTable.Series],
                               timeKind: TimeSeriesTable.TimeKind) -> (options: ForecasterOptions, medianStep: Double) {
        let steps = series.compactMap(\.step).sorted()
        let medianStep = steps.isEmpty ? 1
            : steps.count % 2 == 1 ? steps[steps.count / 2] : (steps[steps.count / 2 - 1] + steps[steps.count / 2]) / 2
        var resolved = options
        let m = options.season ?? (timeKind == .date ? Baselines.season(dateStep: medianStep) : 1)
        (resolved.season, resolved.context) = (m, options.resolvedContext(season: m))
        return (resolved, medianStep)
    }

    /// Fits on plain arrays (times 0, 1, 2, … ; ids "1", "2", …).
    /// - Throws: as `init(fitting:timeKind:options:)`.
    public convenience init(fitting values: [[Double]], options: ForecasterOptions) throws {
        let series = try values.enumerated().map { i, v in
            try TimeSeriesTable.Series(id: "\(i + 1)", times: v.indices.map(Double.init), values: v)
        }
        try self.init(fitting: series, timeKind: .number, options: options)
    }

    /// Loads a checkpoint written by a fit (best or last); clear error for any other file.
    /// - Throws: `RecurrentError.invalidFile` for another kind of checkpoint (naming the command
    ///   that uses it), bad metadata, tensors that do not match it, or non-finite weights;
    ///   `RecurrentError.io` for a file that cannot be read.
    public convenience init(contentsOf path: String) throws {
        let file = try SafetensorsFile(contentsOf: path)
        guard let json = file.metadata["forecaster"] else {
            let reason: String
            if file.metadata["task"] != nil {
                reason = "a sequence-task model from rnn fit, not a forecaster: use it with rnn predict"
            } else if file.metadata["config"] != nil {
                reason = "a character model from rnn train, not a forecaster: use it with rnn sample"
            } else {
                reason = "no \"forecaster\" metadata: not a checkpoint written by rnn forecast fit"
            }
            throw RecurrentError.invalidFile(path: path, reason: reason)
        }
        let state = try ForecasterState(json: json, path: path)
        let o = state.options
        // Each recurrent layer has at least two tensors: refuse a layer count the file cannot
        // hold before building the layout (whose cost grows with it).
        guard o.layers <= file.tensors.count / 2 else {
            throw RecurrentError.invalidFile(path: path, reason: "the forecaster metadata says \(o.layers) layers, "
                                             + "but the file holds only \(file.tensors.count) tensors")
        }
        let checkpoint = Checkpoint(file)
        let network = try ForecastNetwork(features: state.features, context: o.context!, horizon: o.horizon, cell: o.cell,
                                          hiddenSize: o.hiddenSize, layers: o.layers, dropout: o.dropout, seed: 0) {
            try checkpoint.verify($0, needs: "the forecaster metadata")
        }
        try checkpoint.load(into: network.arena)
        self.init(state: state, network: network)
    }

    /// Writes the model (weights and `forecaster` metadata) to `path`, atomically.
    /// - Throws: `RecurrentError.io` when it cannot be written.
    public func save(to path: String) throws {
        try writeAtomically(state.encode(network.arena), to: path)
    }

    /// Forecasts `horizon` (≤ the trained H; default H) steps after `origin` (default: the series' end,
    /// i.e. values.count): history = values[..<origin]. Future times: `series.times[origin...]` where the series
    /// has them, else `futureTimes`. Covariates for the future steps come from the series itself when it extends
    /// past the origin, else from `futureCovariates` (name → H values), else a clear error naming the covariate.
    ///
    /// `futureCovariates` holds each covariate's values for the steps after the series' last row.
    /// - Throws: `RecurrentError.invalidArgument` for bad levels, a horizon above H, an origin
    ///   that leaves less than C steps of history (or lies past the end), a missing covariate
    ///   column or too few future covariate values.
    public func forecast(_ series: TimeSeriesTable.Series, horizon: Int? = nil, levels: [Double] = [0.1, 0.5, 0.9],
                         origin: Int? = nil, futureCovariates: [String: [Double]]? = nil) throws -> Forecast {
        try forecast([(series, origin, futureCovariates)], horizon: horizon, levels: levels)[0]
    }

    /// Forecasts many series at once (batched through the network in one forward when they share the shape).
    ///
    /// Every window has the model's shape (C + H steps), so all go through one forward.
    /// - Parameter origins: one per series (default: each series' end).
    /// - Throws: as the one-series `forecast`; a shape mismatch when `origins` and `series` differ in count.
    public func forecast(_ series: [TimeSeriesTable.Series], horizon: Int? = nil, levels: [Double] = [0.1, 0.5, 0.9],
                         origins: [Int]? = nil) throws -> [Forecast] {
        if let origins, origins.count != series.count {
            throw RecurrentError.shapeMismatch(operation: "forecast", expected: "one origin per series (\(series.count))",
                                               found: "\(origins.count) origins")
        }
        return try forecast(series.indices.map { (series[$0], origins?[$0], nil) }, horizon: horizon, levels: levels)
    }

    /// Arrays: the forecast after `history` (times 0…n−1).
    ///
    /// The history is a series of id "": its scale comes from its own values.
    /// - Throws: as the one-series `forecast`.
    public func forecast(history: [Double], horizon: Int? = nil, levels: [Double] = [0.1, 0.5, 0.9]) throws -> Forecast {
        try forecast(TimeSeriesTable.Series(id: "", times: history.indices.map(Double.init), values: history),
                     horizon: horizon, levels: levels)
    }

    /// The forecasts of the requests, in one forward.
    private func forecast(_ requests: [(series: TimeSeriesTable.Series, origin: Int?, futureCovariates: [String: [Double]]?)],
                          horizon: Int?, levels: [Double]) throws -> [Forecast] {
        try Forecast.checkLevels(levels)
        let trained = options.horizon
        let h = horizon ?? trained
        try require(h >= 1 && h <= trained, .invalidArgument(
            name: "horizon", value: "\(h)",
            expected: "1...\(trained) (the model was fit for \(trained) steps; fit one with a longer --horizon to forecast further)"))
        guard !requests.isEmpty else { return [] }
        let windows = try requests.map { try window($0.series, origin: $0.origin, futureCovariates: $0.futureCovariates, horizon: h) }
        let (input, windowLevels) = try network.input(windows.map { ($0.series, $0.origin) })
        var noDropout = SeededGenerator(seed: 0)
        let output = network.forward(input, batch: windows.count, training: false, rng: &noDropout)
        return try windows.enumerated().map { r, w in
            let d = (0..<h).map { network.distribution(output, row: r, step: $0, level: windowLevels[r], scale: w.series.scale) }
            return try Forecast(series: w.series.id, times: Array(w.series.times[w.origin..<(w.origin + h)]),
                                mean: d.map(\.mean), standardDeviation: d.map(\.sd), levels: levels)
        }
    }

    /// The window of one request: the history values[..<o], the times and standardised
    /// covariates of every step up to o + H, and the series' scale.
    private func window(_ s: TimeSeriesTable.Series, origin: Int?, futureCovariates: [String: [Double]]?,
                        horizon h: Int) throws -> (series: ForecastFeatures.Series, origin: Int) {
        let (c, trained, n) = (network.context, options.horizon, s.values.count)
        let named = s.id.isEmpty ? "the series" : "series '\(s.id)'"
        let o = origin ?? n
        try require(o >= c && o <= n, .invalidArgument(
            name: "origin of \(named)", value: "\(o)",
            expected: n < c ? "a series of at least the context \(c) steps (it has \(n)): the model reads \(c) steps before the origin"
                : "\(c)...\(n): the model reads the \(c) steps before the origin, which can be at most the series' end"))
        let history = Array(s.values[..<o])
        if let i = history.firstIndex(where: { !$0.isFinite }) {
            throw RecurrentError.invalidArgument(name: "value of \(named)", value: "\(history[i]) at step \(i + 1)", expected: "a finite number")
        }
        let scale = scalingIndex[s.id].map { state.scaling[$0].scale } ?? Self.moments(history).scale
        let known = min(n, o + trained)
        var times = Array(s.times[..<known])
        if known < o + trained { times += try s.futureTimes(o + trained - known, timeKind: timeKind) }
        let covariates = try state.features.covariates.enumerated().map { j, name in
            guard let column = s.covariates[name] else {
                throw RecurrentError.invalidArgument(
                    name: "covariate", value: name,
                    expected: "a covariate column of \(named) (the model was fit with \(state.features.covariates.joined(separator: ", ")))")
            }
            var raw = Array(column[..<known])
            let needed = o + h - known
            if needed > 0 {
                let future = futureCovariates?[name] ?? []
                try require(future.count >= needed && future.prefix(needed).allSatisfy(\.isFinite), .invalidArgument(
                    name: "future values of covariate '\(name)'", value: "\(future.count) given",
                    expected: "\(needed) finite values for the forecast steps after the end of \(named) "
                        + "(covariates are inputs: their future must be known)"))
                raw += future.prefix(needed)
            }
            // Steps past the requested horizon do not reach its forecast (the network reads
            // forwards only): the training mean stands in for their unknown values.
            raw += repeatElement(state.covariateMean[j], count: o + trained - raw.count)
            return raw.map { ($0 - state.covariateMean[j]) / state.covariateStd[j] }
        }
        return (ForecastFeatures.Series(id: s.id, values: history, times: times, step: s.step ?? 1, scale: scale,
                                        covariates: covariates), o)
    }

    /// The mean and the scale of `values`: their standard deviation, 1 when that is 0 or not finite.
    static func moments(_ values: [Double]) -> (mean: Double, scale: Double) {
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count, 1))).squareRoot()
        return (mean, sd > 0 && sd.isFinite ? sd : 1)
    }

    /// The `training` metadata of a run's `last`: the epoch and the trainer's state.
    private static func trainingFields(_ trainer: Trainer<ForecastTrainingTask>) -> String {
        JSONText.object([("epoch", "\(trainer.step / trainer.task.stepsPerEpoch)")] + trainer.stateFields())
    }
}

/// The observer that keeps a copy of the weights at the best validation value, for the
/// forecaster to keep when training ends.
final class BestWeights: TrainingObserver {
    let arena: ParameterArena
    private var values: [Float]?

    init(_ arena: ParameterArena) { self.arena = arena }

    func didEvaluate(_ record: TrainingRecord) throws {
        if record.improved { values = Array(UnsafeBufferPointer(start: arena.values, count: arena.count)) }
    }

    /// Puts the best weights back into the arena (nothing when no evaluation ran).
    func restore() {
        values?.withUnsafeBufferPointer { arena.values.update(from: $0.baseAddress!, count: arena.count) }
    }
}
