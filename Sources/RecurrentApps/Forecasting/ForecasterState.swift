import Foundation
import Recurrent

/// Everything a forecaster keeps besides its weights, and its `forecaster` checkpoint metadata:
/// the options (context and season resolved), the time kind, the input columns, each training
/// series' scaling and the covariates' standardisation, and how the fit ended.
///
/// The metadata is JSON with keys in a fixed order, so the same model always gives the same
/// bytes. The numbers forecasts are computed from (means, scales, times) are written as decimal
/// strings: exact through any JSON reader, so a loaded model forecasts bit for bit as it did.
struct ForecasterState: Sendable, Equatable {
    /// One training series' scaling: its mean and scale s (the standard deviation of its values,
    /// 1 when that is 0 or not finite), and its last time.
    struct SeriesScaling: Sendable, Equatable {
        var id: String
        var mean: Double
        var scale: Double
        var lastTime: Double
    }

    /// The version of the metadata layout.
    static let format = 1

    var options: ForecasterOptions
    var timeKind: TimeSeriesTable.TimeKind
    var features: ForecastFeatures
    var scaling: [SeriesScaling]
    /// Each covariate's mean and standard deviation over the training rows (`features.covariates` order).
    var covariateMean: [Double]
    var covariateStd: [Double]
    /// How the fit ended; nil in the checkpoints written while it runs (a run killed before
    /// its end leaves those).
    var summary: ForecasterTrainingSummary?

    /// The checkpoint of `arena` with this state; `training` and `state` in a run's `last`.
    func encode(_ arena: ParameterArena, training: String? = nil, state: [SafetensorsFile.Entry] = []) -> Data {
        var metadata = ["forecaster": json]
        if let training { metadata["training"] = training }
        return Checkpoint.encode(arena, metadata: metadata, state: state)
    }

    /// The `forecaster` metadata.
    var json: String {
        func exact(_ x: Double) -> String { JSONText.string("\(x)") }
        let o = options
        var optionFields: [(String, String)] = [
            ("horizon", "\(o.horizon)"), ("context", "\(o.context!)"), ("season", "\(o.season!)"),
            ("covariates", JSONText.array(o.covariates.map(JSONText.string))), ("calendar_features", "\(o.calendarFeatures)"),
            ("cell", JSONText.string(o.cell.rawValue)), ("hidden_size", "\(o.hiddenSize)"), ("layers", "\(o.layers)"),
            ("dropout", "\(Double(o.dropout))"), ("epochs", "\(o.epochs)"), ("batch", "\(o.batch)"),
            ("learning_rate", "\(Double(o.learningRate))"),
        ]
        if let patience = o.patience { optionFields.append(("patience", "\(patience)")) }
        optionFields.append(("seed", JSONText.string("\(o.seed)")))
        if let columns = o.columns {
            var columnFields = [("time", JSONText.string(columns.time)), ("target", JSONText.string(columns.target))]
            if let series = columns.series { columnFields.append(("series", JSONText.string(series))) }
            optionFields.append(("columns", JSONText.object(columnFields)))
        }
        var fields: [(String, String)] = [
            ("format", "\(Self.format)"), ("options", JSONText.object(optionFields)),
            ("time_kind", JSONText.string(timeKind.rawValue)), ("calendar", JSONText.string(features.calendar.rawValue)),
            ("feature_names", JSONText.array(features.names.map(JSONText.string))),
            ("series", JSONText.array(scaling.map {
                JSONText.object([("id", JSONText.string($0.id)), ("mean", exact($0.mean)), ("scale", exact($0.scale)),
                                 ("last_time", exact($0.lastTime))])
            })),
            ("covariates", JSONText.array(features.covariates.indices.map {
                JSONText.object([("name", JSONText.string(features.covariates[$0])), ("mean", exact(covariateMean[$0])),
                                 ("std", exact(covariateStd[$0]))])
            })),
        ]
        if let s = summary {
            var summaryFields = [("epochs", "\(s.epochs)"), ("steps", "\(s.steps)"), ("reason", JSONText.string(s.reason.rawValue))]
            if let nll = s.bestValidationNLL { summaryFields.append(("best_validation_nll", JSONText.number(nll))) }
            summaryFields += [("training_windows", "\(s.trainingWindows)"), ("validation_windows", "\(s.validationWindows)")]
            fields.append(("summary", JSONText.object(summaryFields)))
        }
        return JSONText.object(fields)
    }

    init(options: ForecasterOptions, timeKind: TimeSeriesTable.TimeKind, features: ForecastFeatures, scaling: [SeriesScaling],
         covariateMean: [Double], covariateStd: [Double], summary: ForecasterTrainingSummary? = nil) {
        self.options = options
        self.timeKind = timeKind
        self.features = features
        self.scaling = scaling
        self.covariateMean = covariateMean
        self.covariateStd = covariateStd
        self.summary = summary
    }

    /// Parses and checks `forecaster` metadata.
    /// - Throws: `RecurrentError.invalidFile` naming `path` and the first bad or missing field.
    init(json: String, path: String) throws {
        func bad(_ what: String) -> RecurrentError { .invalidFile(path: path, reason: "forecaster metadata: \(what)") }
        guard let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let format = root["format"] as? Int, format == Self.format else {
            throw bad("format \(root["format"].map { "\($0)" } ?? "missing"), expected \(Self.format) (written by another version of rnn?)")
        }
        func int(_ o: [String: Any], _ key: String) throws -> Int {
            guard let v = o[key] as? Int else { throw bad("\"\(key)\" is missing or not a whole number") }
            return v
        }
        func exact(_ o: [String: Any], _ key: String) throws -> Double {
            guard let v = (o[key] as? String).flatMap(Double.init), v.isFinite else { throw bad("\"\(key)\" is missing or not a finite number") }
            return v
        }
        guard let o = root["options"] as? [String: Any] else { throw bad("no \"options\"") }
        var options = ForecasterOptions(horizon: try int(o, "horizon"))
        options.context = try int(o, "context")
        options.season = try int(o, "season")
        guard let covariates = o["covariates"] as? [String] else { throw bad("\"covariates\" is not a list of names") }
        options.covariates = covariates
        guard let calendarFeatures = o["calendar_features"] as? Bool else { throw bad("\"calendar_features\" is not true or false") }
        options.calendarFeatures = calendarFeatures
        guard let cell = (o["cell"] as? String).flatMap(CellKind.init(rawValue:)) else { throw bad("\"cell\" is not a known cell") }
        options.cell = cell
        options.hiddenSize = try int(o, "hidden_size")
        options.layers = try int(o, "layers")
        options.epochs = try int(o, "epochs")
        options.batch = try int(o, "batch")
        guard let dropout = o["dropout"] as? Double, let rate = o["learning_rate"] as? Double else {
            throw bad("\"dropout\" or \"learning_rate\" is missing or not a number")
        }
        (options.dropout, options.learningRate) = (Float(dropout), Float(rate))
        options.patience = o["patience"] == nil ? nil : try int(o, "patience")
        guard let seed = (o["seed"] as? String).flatMap(UInt64.init) else { throw bad("\"seed\" is not a whole number as a string") }
        options.seed = seed
        if let columns = o["columns"] {
            guard let c = columns as? [String: Any], let time = c["time"] as? String, let target = c["target"] as? String,
                  c["series"] == nil || c["series"] is String else {
                throw bad("\"columns\" is not {\"time\": NAME, \"target\": NAME[, \"series\": NAME]}")
            }
            options.columns = ForecastColumns(time: time, target: target, series: c["series"] as? String)
        }
        do { try options.validate() } catch let error as RecurrentError { throw bad("\(error)") }
        self.options = options

        guard let timeKind = (root["time_kind"] as? String).flatMap(TimeSeriesTable.TimeKind.init(rawValue:)) else {
            throw bad("\"time_kind\" is not number or date")
        }
        self.timeKind = timeKind
        guard let calendar = (root["calendar"] as? String).flatMap(ForecastFeatures.Calendar.init(rawValue:)) else {
            throw bad("\"calendar\" is not one of \(ForecastFeatures.Calendar.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        features = ForecastFeatures(season: options.season!, calendar: calendar, covariates: covariates)
        guard let names = root["feature_names"] as? [String], names == features.names else {
            throw bad("\"feature_names\" do not match the options (expected \(features.names.joined(separator: ", ")))")
        }
        guard let series = root["series"] as? [[String: Any]], !series.isEmpty else { throw bad("no \"series\" scaling") }
        scaling = try series.map { s in
            guard let id = s["id"] as? String else { throw bad("a series without an \"id\"") }
            let scale = try exact(s, "scale")
            guard scale > 0 else { throw bad("series '\(id)' has scale \(scale), expected a positive number") }
            return SeriesScaling(id: id, mean: try exact(s, "mean"), scale: scale, lastTime: try exact(s, "last_time"))
        }
        guard Set(scaling.map(\.id)).count == scaling.count else { throw bad("a series id appears twice") }
        guard let standardisation = root["covariates"] as? [[String: Any]],
              standardisation.map({ $0["name"] as? String }) == covariates else {
            throw bad("\"covariates\" do not match the options' covariates")
        }
        covariateMean = try standardisation.map { try exact($0, "mean") }
        covariateStd = try standardisation.map { try exact($0, "std") }
        guard covariateStd.allSatisfy({ $0 > 0 }) else { throw bad("a covariate's standard deviation is not positive") }

        if let s = root["summary"] as? [String: Any] {
            guard let reason = (s["reason"] as? String).flatMap(TrainingOutcome.Reason.init(rawValue:)) else {
                throw bad("summary: \"reason\" is not a known reason")
            }
            summary = ForecasterTrainingSummary(epochs: try int(s, "epochs"), steps: try int(s, "steps"), reason: reason,
                                                bestValidationNLL: s["best_validation_nll"] as? Double,
                                                trainingWindows: try int(s, "training_windows"),
                                                validationWindows: try int(s, "validation_windows"))
        }
    }
}
