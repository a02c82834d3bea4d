/// Time series read from a CSV table: one series, or many in long format (a series-id column),
/// each with its times, its target values and its covariate columns, sorted by time and checked.
///
/// The policy — what stops the read (an error, thrown as "FILE:LINE: what was wrong") and what
/// is reported and kept (a warning, in `warnings`, also "FILE:LINE: …"):
///
/// | Finding | Outcome |
/// |---|---|
/// | a named column not in the header | error |
/// | a time that is neither a number nor an ISO 8601 date/date-time (`ISODate`), or of the other kind than the first row's | error |
/// | an empty target (a missing value) or a target that is not a number | error (this layer fills nothing in) |
/// | an empty or non-numeric covariate (covariates are known in advance, so never missing) | error |
/// | two rows of one series at the same time | error, naming both lines |
/// | rows of a series out of time order | warning; the series is sorted by time |
/// | a gap of k whole steps, k > 1 (k − 1 steps missing) | warning with the row after the gap |
/// | a gap that is not a whole number of steps | warning with the row after the gap |
///
/// A series' step is the median of its gaps. For dates whose median gap is 28 days or more the
/// step is counted in calendar months (monthly 1, quarterly 3, yearly 12), so months of 28 to
/// 31 days are regular.
public struct TimeSeriesTable: Sendable {
    /// What the time column holds.
    public enum TimeKind: String, Sendable {
        /// Plain numbers (a step index, a Unix time): no calendar is assumed.
        case number
        /// ISO 8601 dates or date-times, as seconds since the epoch.
        case date

        /// The time `text` holds (spaces and tabs around it ignored): a finite number, or an ISO
        /// date's seconds since the epoch; nil when it is not one of this kind.
        public func value(of text: String) -> Double? {
            let t = text.trimmedOfSpaces()
            switch self {
            case .number: return Double(t).flatMap { $0.isFinite ? $0 : nil }
            case .date: return ISODate.seconds(t)
            }
        }
    }

    /// One series, sorted by time.
    public struct Series: Sendable, Equatable {
        /// The value of the series-id column ("" when the table has none).
        public var id: String
        /// Times: numbers as written, or seconds since the epoch for dates; increasing.
        public var times: [Double]
        /// The target at each time.
        public var values: [Double]
        /// Each covariate column by name, one value per time.
        public var covariates: [String: [Double]]
        /// The 1-based file line of each time's row.
        public var lines: [Int]
        /// The median gap between consecutive times (`nil` for a single row): seconds for dates
        /// (a month counts 30.436875 days when the step is in months), else the time column's unit.
        public var step: Double?
        /// The step in calendar months when the series is monthly or coarser, else `nil`.
        public var monthStep: Int?
    }

    /// The series, in the order their ids first appear in the file.
    public let series: [Series]
    /// What the time column holds.
    public let timeKind: TimeKind
    /// What was found and kept, one line each as "FILE:LINE: …".
    public let warnings: [String]

    /// Reads the series of `table`.
    /// - Parameters:
    ///   - time: the time column's name.
    ///   - target: the target column's name.
    ///   - seriesColumn: the series-id column's name for long format, or `nil` for one series.
    ///   - covariates: known-in-advance numeric columns to keep.
    /// - Throws: `RecurrentError.invalidArgument` for a column not in the header;
    ///   `RecurrentError.invalidFile` as "FILE:LINE: what was wrong" for the errors of the policy above.
    public init(_ table: CSVTable, time: String, target: String, series seriesColumn: String? = nil,
                covariates: [String] = []) throws {
        let path = table.path
        func fail(_ line: Int, _ reason: String) -> RecurrentError {
            RecurrentError.invalidFile(path: "\(path):\(line)", reason: reason)
        }
        let timeTexts = try table.column(time)
        let targets = try table.numbers(target)
        let ids = try seriesColumn.map { try table.column($0) }
        var covariateValues: [String: [Double?]] = [:]
        for name in covariates { covariateValues[name] = try table.numbers(name) }
        guard !table.rows.isEmpty else {
            throw RecurrentError.invalidFile(path: path, reason: "has a header but no rows")
        }

        // The first row decides the kind; every row must agree.
        let firstText = timeTexts[0].trimmedOfSpaces()
        let kind: TimeKind = Double(firstText).map { $0.isFinite } == true ? .number : .date
        var times: [Double] = []
        times.reserveCapacity(timeTexts.count)
        for (r, raw) in timeTexts.enumerated() {
            guard let value = kind.value(of: raw) else {
                let expected = kind == .number
                    ? "a number, as the first row's time is"
                    : "an ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][Z])"
                throw fail(table.lines[r], "time column '\(time)' is '\(raw)', expected \(expected)")
            }
            times.append(value)
        }
        for r in table.rows.indices {
            guard targets[r] != nil else {
                throw fail(table.lines[r], "target column '\(target)' is empty (a missing value); fill it in or drop the row")
            }
            for name in covariates where covariateValues[name]![r] == nil {
                throw fail(table.lines[r], "covariate column '\(name)' is empty; covariates must be known at every time")
            }
        }

        // Rows grouped by series id, in order of first appearance.
        var order: [String] = [], members: [String: [Int]] = [:]
        for r in table.rows.indices {
            let id = ids?[r] ?? ""
            if members[id] == nil { order.append(id) }
            members[id, default: []].append(r)
        }
        var warnings: [String] = []
        var result: [Series] = []
        for id in order {
            var rows = members[id]!
            let named = seriesColumn == nil ? "the series" : "series '\(id)'"
            if zip(rows, rows.dropFirst()).contains(where: { times[$0.0] > times[$0.1] }) {
                rows.sort { times[$0] < times[$1] || (times[$0] == times[$1] && $0 < $1) }
                warnings.append("\(path):\(table.lines[rows[0]]): \(named) is not in time order; sorted by time")
            }
            for (a, b) in zip(rows, rows.dropFirst()) where times[a] == times[b] {
                throw fail(table.lines[b], "\(named) has time '\(timeTexts[b])' twice (also on line \(table.lines[a]))")
            }
            var s = Series(id: id, times: rows.map { times[$0] }, values: rows.map { targets[$0]! },
                           covariates: [:], lines: rows.map { table.lines[$0] })
            for name in covariates { s.covariates[name] = rows.map { covariateValues[name]![$0]! } }
            Self.checkGaps(&s, kind: kind, named: named, path: path, warnings: &warnings)
            result.append(s)
        }
        series = result
        timeKind = kind
        self.warnings = warnings
    }

    /// The season detected from the time column (`Baselines.season(dateStep:)` of the median of
    /// the series' steps) for dates; `nil` for plain-number times or single-row series: give it.
    public var detectedSeason: Int? {
        guard timeKind == .date else { return nil }
        let steps = series.compactMap(\.step)
        return steps.isEmpty ? nil : Baselines.season(dateStep: Self.median(steps))
    }

    /// Sets the series' step and warns, with the row after each gap, about missing steps and
    /// gaps that are not a whole number of steps.
    private static func checkGaps(_ s: inout Series, kind: TimeKind, named: String, path: String, warnings: inout [String]) {
        guard s.times.count >= 2 else { return }
        let gaps = zip(s.times, s.times.dropFirst()).map { $1 - $0 }
        let median = Self.median(gaps)
        let day = 86_400.0, month = 30.436875 * day
        if kind == .date && median >= 28 * day {
            // Calendar months: the day of the month and the time of day stay, the month count steps.
            let m = max(1, Int((median / month).rounded()))
            s.monthStep = m
            s.step = Double(m) * month
            func parts(_ t: Double) -> (months: Int, rest: Double) {
                let days = Int((t / day).rounded(.down))
                let (y, mo, d) = ISODate.civil(fromDays: days)
                return (y * 12 + mo - 1, Double(d) * day + (t - Double(days) * day))
            }
            for k in 1..<s.times.count {
                let a = parts(s.times[k - 1]), b = parts(s.times[k])
                let diff = b.months - a.months
                if a.rest != b.rest {
                    warnings.append("\(path):\(s.lines[k]): \(named): not on the day of the month and time of the row before (irregular for a \(m)-month step)")
                } else if diff % m != 0 {
                    warnings.append("\(path):\(s.lines[k]): \(named): gap of \(diff) months is not a whole number of its \(m)-month steps (irregular)")
                } else if diff > m {
                    warnings.append("\(path):\(s.lines[k]): \(named): \(diff / m - 1) steps missing before this row")
                }
            }
            return
        }
        s.step = median
        for (k, gap) in gaps.enumerated() {
            let ratio = gap / median
            let whole = ratio.rounded()
            // An astronomically long gap (or one past Double's range) is irregular, never an Int trap.
            if !ratio.isFinite || ratio > 1e12 || whole < 1 || abs(ratio - whole) > 1e-6 * max(1, whole) {
                warnings.append("\(path):\(s.lines[k + 1]): \(named): gap of \(formatGap(gap, kind)) is not a whole number of its step \(formatGap(median, kind)) (irregular)")
            } else if whole > 1 {
                warnings.append("\(path):\(s.lines[k + 1]): \(named): \(Int(whole) - 1) steps missing before this row")
            }
        }
    }

    /// A gap in words: seconds as days/hours/minutes for dates.
    private static func formatGap(_ gap: Double, _ kind: TimeKind) -> String {
        guard kind == .date else { return "\(gap)" }
        for (unit, seconds) in [("days", 86_400.0), ("hours", 3_600.0), ("minutes", 60.0)] where gap >= seconds && gap.truncatingRemainder(dividingBy: seconds) == 0 {
            return "\(Int(gap / seconds)) \(unit)"
        }
        return "\(gap) seconds"
    }

    /// The median of a non-empty array (the mean of the middle two for an even count).
    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
