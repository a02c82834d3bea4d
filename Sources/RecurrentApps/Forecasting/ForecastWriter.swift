import Foundation
import Recurrent

/// The file formats forecasts are written in.
public enum ForecastFormat: String, Sendable, CaseIterable {
    /// Comma-separated values with a header (RFC 4180 quoting).
    case csv
    /// JSON lines: one object per forecast step.
    case jsonl
}

/// Forecasts as text, one row (CSV) or one JSON object (JSONL) per series and step.
///
/// Columns, in order: time, series, [origin, actual,] mean, sd, then one quantile per level named
/// "q" + the level as Swift writes it (q0.05, q0.5, q0.95). JSONL lines carry the same fields,
/// the quantiles as an object keyed by the level ("0.05"). Numbers are the shortest decimal that
/// reads back to the same Double, with no locale; a non-finite number is `null` in JSONL.
/// All forecasts are expected to carry the same levels: the first one's name the columns, and
/// a forecast without one of them leaves that field empty (CSV) or the key out (JSONL).
public enum ForecastWriter {
    /// The forecasts as CSV (header first) or JSON lines; every line ends in "\n".
    /// - Parameters:
    ///   - forecasts: the forecasts, written in order, each step by step.
    ///   - timeKind: how times are written (`timeText`).
    ///   - format: CSV or JSONL.
    ///   - origins: for a backtest, one text per forecast (the time of the window's first step,
    ///     as `timeText` writes it): adds the `origin` column.
    ///   - actuals: for a backtest, the actual values of each forecast's steps: adds the `actual` column.
    public static func text(_ forecasts: [Forecast], timeKind: TimeSeriesTable.TimeKind, format: ForecastFormat,
                            origins: [String]? = nil, actuals: [[Double]]? = nil) -> String {
        let levels = forecasts.first?.levels ?? []
        var out = ""
        if format == .csv {
            let header = ["time", "series"] + (origins == nil ? [] : ["origin"]) + (actuals == nil ? [] : ["actual"])
                + ["mean", "sd"] + levels.map { "q\($0)" }
            out += header.joined(separator: ",") + "\n"
        }
        for (i, f) in forecasts.enumerated() {
            for h in f.mean.indices {
                let t = h < f.times.count ? f.times[h] : .nan
                let time = t.isNaN ? "" : timeText(t, timeKind: timeKind)
                let origin = origins.map { i < $0.count ? $0[i] : "" }
                let actual = actuals.map { i < $0.count && h < $0[i].count ? $0[i][h] : .nan }
                let sd = h < f.standardDeviation.count ? f.standardDeviation[h] : .nan
                let quantiles = levels.map { level in f.quantile(level).flatMap { h < $0.count ? $0[h] : nil } }
                switch format {
                case .csv:
                    var fields = [csvField(time), csvField(f.series)]
                    if let origin { fields.append(csvField(origin)) }
                    if let actual { fields.append(csvNumber(actual)) }
                    fields += [csvNumber(f.mean[h]), csvNumber(sd)] + quantiles.map { $0.map(csvNumber) ?? "" }
                    out += fields.joined(separator: ",") + "\n"
                case .jsonl:
                    // Number times stay JSON numbers (written as in CSV); dates are strings.
                    let timeJSON = timeKind == .number ? (t.isFinite ? time : "null") : JSONText.string(time)
                    var pairs = [("time", timeJSON),
                                 ("series", JSONText.string(f.series))]
                    if let origin { pairs.append(("origin", JSONText.string(origin))) }
                    if let actual { pairs.append(("actual", JSONText.number(actual))) }
                    pairs += [("mean", JSONText.number(f.mean[h])), ("sd", JSONText.number(sd)),
                              ("quantiles", JSONText.object(zip(levels, quantiles).compactMap { level, q in
                                  q.map { ("\(level)", JSONText.number($0)) }
                              }))]
                    out += JSONText.object(pairs) + "\n"
                }
            }
        }
        return out
    }

    /// A backtest's windows as text, in the report's order (series, then origin), with the
    /// `origin` column (the time of each window's first step) and the `actual` column.
    public static func text(backtest report: BacktestReport, timeKind: TimeSeriesTable.TimeKind, format: ForecastFormat) -> String {
        text(report.windowsRun.map(\.forecast), timeKind: timeKind, format: format,
             origins: report.windowsRun.map { $0.times.first.map { timeText($0, timeKind: timeKind) } ?? "" },
             actuals: report.windowsRun.map(\.actual))
    }

    /// One time as written in the files: a date as YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ when it is
    /// not midnight (rounded to the second); a number without a needless ".0" (12, 12.5, 1e+20),
    /// reading back to the same Double.
    public static func timeText(_ t: Double, timeKind: TimeSeriesTable.TimeKind) -> String {
        switch timeKind {
        case .number:
            // Whole numbers below 2⁵³ print as integers; the rest as Swift's shortest round-tripping form.
            if t == t.rounded() && abs(t) < 9_007_199_254_740_992 { return String(Int64(t)) }
            return "\(t)"
        case .date:
            guard t.isFinite else { return "\(t)" }
            let seconds = Int(t.rounded())
            let days = Int((Double(seconds) / 86_400).rounded(.down))
            let secondOfDay = seconds - days * 86_400
            let date = ISODate.dateString(days: days)
            if secondOfDay == 0 { return date }
            func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
            return date + "T" + two(secondOfDay / 3600) + ":" + two(secondOfDay / 60 % 60) + ":" + two(secondOfDay % 60) + "Z"
        }
    }

    /// A CSV field, quoted (quotes doubled) when it holds a comma, a quote or a line break (RFC 4180).
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A number for CSV: the shortest round-tripping decimal; empty for NaN (a missing value).
    static func csvNumber(_ x: Double) -> String { x.isNaN ? "" : "\(x)" }
}
