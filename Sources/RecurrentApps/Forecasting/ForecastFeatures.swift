import Foundation
import Recurrent

/// The input columns of the forecasting network and the one function that fills a window's.
///
/// A window is T = C + H consecutive steps of one series: C context steps (indices o−C..<o)
/// and H future steps (o..<o+H), o the forecast origin. With ℓ the window level (the mean of the
/// C context values) and s the series' scale, each step t has, in this order:
///
/// 1. `target`: z_t = (y_t − ℓ)/s on context steps, 0 on future steps;
/// 2. `observed`: 1 on context steps, 0 on future steps;
/// 3. `seasonal_naive`, scaled as z: on a context step y_{t−m}, or when no full season precedes t
///    (t < m) the naive y_{max(t−1, 0)}; on future step h = t − o the seasonal naive forecast
///    from the origin, y_{o+h−m·⌈(h+1)/m⌉} (`Baselines.seasonalNaive`);
/// 4. `horizon`: (h+1)/H on future steps, 0 on context steps;
/// 5. calendar columns, each a (sin, cos) pair of 2π·phase (`Calendar`);
/// 6. each covariate, standardised with the training rows' mean and standard deviation.
struct ForecastFeatures: Sendable, Equatable {
    /// Which calendar columns a model has, chosen from its time kind and step.
    enum Calendar: String, Sendable, CaseIterable {
        case none
        /// Sub-daily dates: hour of day (its fraction of the day) and day of week.
        case hourAndWeekday = "hour_weekday"
        /// Daily dates: day of week and day of year.
        case weekdayAndYearDay = "weekday_year_day"
        /// Weekly dates: day of year.
        case yearDay = "year_day"
        /// Monthly or coarser dates: month of year.
        case month
        /// Plain-number times with m > 1: the season's phase ((time/step) rounded, mod m)/m.
        case seasonPhase = "season_phase"

        /// Column names, (sin, cos) per calendar phase.
        var names: [String] {
            let phases: [String]
            switch self {
            case .none: phases = []
            case .hourAndWeekday: phases = ["hour", "weekday"]
            case .weekdayAndYearDay: phases = ["weekday", "year_day"]
            case .yearDay: phases = ["year_day"]
            case .month: phases = ["month"]
            case .seasonPhase: phases = ["season_phase"]
            }
            return phases.flatMap { [$0 + "_sin", $0 + "_cos"] }
        }

        /// The number of calendar columns, 2 per phase (without building their names).
        var columns: Int {
            switch self {
            case .none: return 0
            case .hourAndWeekday, .weekdayAndYearDay: return 4
            case .yearDay, .month, .seasonPhase: return 2
            }
        }

        /// The calendar of a series with this time kind and step (seconds for dates; a month
        /// step counts 30.4 days), and season m; `.none` when `enabled` is off.
        init(timeKind: TimeSeriesTable.TimeKind, step: Double, season m: Int, enabled: Bool) {
            let day = 86_400.0
            switch (enabled, timeKind) {
            case (false, _): self = .none
            case (true, .number): self = m > 1 ? .seasonPhase : .none
            // A little slack: a median step of 23.99 hours is daily, of 6.99 days weekly.
            case (true, .date) where step < 0.99 * day: self = .hourAndWeekday
            case (true, .date) where step < 6.9 * day: self = .weekdayAndYearDay
            case (true, .date) where step < 28 * day: self = .yearDay
            case (true, .date): self = .month
            }
        }
    }

    /// A series as the features read it: values up to the origin at least, and the times and
    /// standardised covariates of every step of the window, future steps included.
    struct Series: Sendable {
        var id: String
        var values: [Double]
        var times: [Double]
        /// The time step (for the season phase of plain-number times).
        var step: Double
        /// s: the series' scale.
        var scale: Double
        /// Each covariate (in `ForecastFeatures.covariates` order), standardised, one per time.
        var covariates: [[Double]]
    }

    /// m ≥ 1.
    let season: Int
    let calendar: Calendar
    let covariates: [String]

    /// The first four columns, then the calendar's, then `covariate:NAME` for each covariate.
    var names: [String] {
        ["target", "observed", "seasonal_naive", "horizon"] + calendar.names + covariates.map { "covariate:" + $0 }
    }

    /// D, the columns per step.
    var count: Int { 4 + calendar.columns + covariates.count }

    /// Fills the window of `series` at origin o: (T, D) with T = C + H, row-major. Reads the
    /// values at indices o−C..<o only (and o−m..<o for the seasonal naive: C ≥ m), the times
    /// and covariates at o−C..<o+H.
    /// - Returns: the window level ℓ, the mean of the C context values.
    /// - Throws: what `Baselines.seasonalNaive` throws for H < 1 (callers check H first).
    func fill(_ out: UnsafeMutablePointer<Float>, series: Series, origin o: Int, context c: Int, horizon h: Int) throws -> Double {
        let m = season, d = count, s = series.scale
        let level = series.values[(o - c)..<o].reduce(0, +) / Double(c)
        func scaled(_ y: Double) -> Float { Float((y - level) / s) }
        // The seasonal naive forecast from the origin: exactly the baseline it is compared with.
        let naive = try Baselines.seasonalNaive(history: Array(series.values[(o - m)..<o]), horizon: h, season: m)
        let calendarColumns = calendar.columns
        for k in 0..<(c + h) {
            let t = o - c + k, row = out + k * d
            if k < c {
                row[0] = scaled(series.values[t])
                row[1] = 1
                row[2] = scaled(series.values[t >= m ? t - m : max(t - 1, 0)])
                row[3] = 0
            } else {
                row[0] = 0
                row[1] = 0
                row[2] = scaled(naive[k - c])
                row[3] = Float(k - c + 1) / Float(h)
            }
            if calendarColumns > 0 { calendarValues(time: series.times[t], step: series.step, into: row + 4) }
            for (j, values) in series.covariates.enumerated() { row[4 + calendarColumns + j] = Float(values[t]) }
        }
        return level
    }

    /// The calendar columns of `time` (seconds since the epoch for dates): (sin 2πφ, cos 2πφ)
    /// for each phase φ in [0, 1) — the fraction of the day, the weekday (Monday 0) over 7, the
    /// day of the year (1 January 0) over the year's days, the month (January 0) over 12, or
    /// for plain numbers ((time/step) rounded, mod m) over m.
    func calendarValues(time: Double, step: Double, into row: UnsafeMutablePointer<Float>) {
        let dayLength = 86_400.0
        let days = Int((time / dayLength).rounded(.down))
        func weekday() -> Double { Double(((days + 3) % 7 + 7) % 7) / 7 }   // 1970-01-01 was a Thursday
        func yearDay() -> Double {
            let year = ISODate.civil(fromDays: days).year
            let start = ISODate.daysFromCivil(year: year, month: 1, day: 1)
            return Double(days - start) / Double(ISODate.daysFromCivil(year: year + 1, month: 1, day: 1) - start)
        }
        let phases: [Double]
        switch calendar {
        case .none: return
        case .hourAndWeekday: phases = [(time - Double(days) * dayLength) / dayLength, weekday()]
        case .weekdayAndYearDay: phases = [weekday(), yearDay()]
        case .yearDay: phases = [yearDay()]
        case .month: phases = [Double(ISODate.civil(fromDays: days).month - 1) / 12]
        case .seasonPhase:
            // Rounded: times written as decimals need not divide by the step exactly.
            let index = (time / step).rounded()
            let m = Double(season)
            phases = [(index - (index / m).rounded(.down) * m) / m]
        }
        for (i, φ) in phases.enumerated() {
            row[2 * i] = Float(sin(2 * Double.pi * φ))
            row[2 * i + 1] = Float(cos(2 * Double.pi * φ))
        }
    }
}
