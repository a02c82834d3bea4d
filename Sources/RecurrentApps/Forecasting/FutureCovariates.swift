import Foundation
import Recurrent

/// The future values of known-in-advance covariates, read from a CSV (`rnn forecast predict
/// --future FILE`): a time column, the series-id column when there are many series, and one
/// column per covariate, for the steps to forecast.
public struct FutureCovariates: Sendable {
    /// One series' future rows, sorted by time.
    struct Rows: Sendable {
        var times: [Double] = []
        var lines: [Int] = []
        var values: [String: [Double]] = [:]
    }

    public let path: String
    let covariates: [String]
    let bySeries: [String: Rows]

    /// Reads the future rows of `table`.
    /// - Parameters:
    ///   - time: the time column, holding `timeKind` values (dates or numbers) as the history does.
    ///   - series: the series-id column, or `nil` for one series (id "").
    ///   - covariates: the covariate columns, every field a number.
    /// - Throws: `RecurrentError.invalidArgument` for a missing column; `.invalidFile` as
    ///   "FILE:LINE: …" for a bad time, an empty or non-numeric covariate, or a time given twice.
    public init(_ table: CSVTable, time: String, series: String?, covariates: [String],
                timeKind: TimeSeriesTable.TimeKind) throws {
        path = table.path
        self.covariates = covariates
        let times = try table.column(time)
        let ids = try series.map { try table.column($0) }
        var columns: [String: [Double?]] = [:]
        for name in covariates { columns[name] = try table.numbers(name) }
        var bySeries: [String: Rows] = [:]
        for r in table.rows.indices {
            let line = table.lines[r]
            func fail(_ reason: String) -> RecurrentError { .invalidFile(path: "\(table.path):\(line)", reason: reason) }
            guard let t = timeKind.value(of: times[r]) else {
                throw fail("time column '\(time)' is '\(times[r])', expected \(timeKind == .date ? "an ISO 8601 date, as the history's times are" : "a number, as the history's times are")")
            }
            var rows = bySeries[ids?[r] ?? "", default: Rows()]
            if let j = rows.times.firstIndex(of: t) { throw fail("time '\(times[r])' is given twice for this series (also on line \(rows.lines[j]))") }
            rows.times.append(t)
            rows.lines.append(line)
            for name in covariates {
                guard let v = columns[name]![r] else { throw fail("covariate column '\(name)' is empty; give every future step a value") }
                rows.values[name, default: []].append(v)
            }
            bySeries[ids?[r] ?? ""] = rows
        }
        self.bySeries = bySeries.mapValues { rows in
            let order = rows.times.indices.sorted { rows.times[$0] < rows.times[$1] }
            return Rows(times: order.map { rows.times[$0] }, lines: order.map { rows.lines[$0] },
                        values: rows.values.mapValues { v in order.map { v[$0] } })
        }
    }

    /// The covariates of the `count` steps after the end of `series`, checked against the times
    /// those steps have (`futureTimes`).
    /// - Throws: `RecurrentError.invalidFile` naming the series and the first time that is missing.
    public func values(for series: TimeSeriesTable.Series, count: Int, timeKind: TimeSeriesTable.TimeKind) throws -> [String: [Double]] {
        let expected = try series.futureTimes(count, timeKind: timeKind)
        let rows = bySeries[series.id] ?? Rows()
        let named = series.id.isEmpty ? "the series" : "series '\(series.id)'"
        var result: [String: [Double]] = [:]
        for name in covariates { result[name] = [] }
        for t in expected {
            guard let j = rows.times.firstIndex(of: t) else {
                let when = timeKind == .date ? ForecastWriter.timeText(t, timeKind: timeKind) : "\(t)"
                throw RecurrentError.invalidFile(path: path, reason: "\(named) has no row at \(when), one of the \(count) steps to "
                                                 + "forecast; give the covariates \(covariates.joined(separator: ", ")) for every future step")
            }
            for name in covariates { result[name]!.append(rows.values[name]![j]) }
        }
        return result
    }
}
