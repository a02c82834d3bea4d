import Foundation
import Recurrent

/// Forecasts of one series drawn as a self-contained SVG (no scripts, no external fonts),
/// readable at a glance: the recent history, each forecast's mean and central intervals, what
/// actually happened, and where each forecast starts.
public enum ForecastChart {
    /// An SVG chart, 900×360, of one series' history and forecasts.
    ///
    /// Drawn, back to front: the widest central interval of each forecast as a light band and,
    /// when the levels hold two or more, the narrowest as a darker band (`Forecast.centralIntervals`
    /// of the first forecast); the history as a dark line; a dashed vertical line at each forecast
    /// origin (the last known time before its first step); each forecast's mean as a blue line;
    /// the actuals as red dots. The x axis is labelled with dates (YYYY-MM-DD; YYYY-MM or YYYY
    /// when ticks are months or years apart; date-times for sub-daily spans) or numbers, the y
    /// axis with round values; the legend sits right of the plot.
    /// - Parameters:
    ///   - title: the text at the top, such as "store 1: 14-day forecast" (escaped here).
    ///   - times: the history's times (seconds since the epoch for dates).
    ///   - values: the history's values, one per time.
    ///   - forecasts: the forecasts to draw (several for a backtest's windows).
    ///   - actuals: what happened, as (times, values) runs, such as each backtest window's actuals.
    ///   - timeKind: dates or numbers, for the x axis labels.
    ///   - historyPoints: draw only the last this many history values; `nil` for all.
    public static func svg(title: String, times: [Double], values: [Double], forecasts: [Forecast],
                           actuals: [(times: [Double], values: [Double])] = [], timeKind: TimeSeriesTable.TimeKind,
                           historyPoints: Int? = nil) -> String {
        let (width, height) = (900.0, 360.0)
        let (left, right, upper, lower) = (70.0, 170.0, 40.0, 40.0)
        let plotW = width - left - right, plotH = height - upper - lower
        func finite(_ ts: [Double], _ vs: [Double]) -> [(x: Double, y: Double)] {
            zip(ts, vs).filter { $0.0.isFinite && $0.1.isFinite }.map { (x: $0.0, y: $0.1) }
        }
        var history = finite(times, values)
        if let historyPoints { history = Array(history.suffix(max(historyPoints, 0))) }
        let observed = actuals.map { finite($0.times, $0.values) }
        let intervals = forecasts.first?.centralIntervals ?? []
        let shownIntervals = intervals.count >= 2 ? [intervals[0], intervals[intervals.count - 1]] : intervals
        // Each forecast's bands: (interval index, lower and upper quantiles).
        let bands = forecasts.map { f in
            shownIntervals.enumerated().compactMap { k, interval -> (Int, [(x: Double, y: Double)], [(x: Double, y: Double)])? in
                guard let lo = f.quantile(interval.lower), let hi = f.quantile(interval.upper) else { return nil }
                return (k, finite(f.times, lo), finite(f.times, hi))
            }
        }
        let means = forecasts.map { finite($0.times, $0.mean) }

        // Ranges: x spans everything drawn (a little padding keeps edge dots inside); y is widened to round ticks.
        let allPoints = history + observed.flatMap { $0 } + means.flatMap { $0 } + bands.flatMap { $0.flatMap { $0.1 + $0.2 } }
        var (x0, x1) = (allPoints.map(\.x).min() ?? 0, allPoints.map(\.x).max() ?? 1)
        var (y0, y1) = (allPoints.map(\.y).min() ?? 0, allPoints.map(\.y).max() ?? 1)
        if x1 <= x0 { (x0, x1) = (x0 - 1, x1 + 1) }
        if y1 <= y0 { (y0, y1) = (y0 - max(abs(y0) * 0.1, 1e-3), y1 + max(abs(y1) * 0.1, 1e-3)) }
        let pad = (x1 - x0) * 0.015
        (x0, x1) = (x0 - pad, x1 + pad)
        let yt = LineChart.linearTicks(y0, y1)
        (y0, y1) = (yt.low, yt.high)
        let xTicks = timeKind == .date ? dateTicks(x0, x1, plotWidth: plotW) : numberTicks(x0, x1)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { upper + (1 - (y - y0) / (y1 - y0)) * plotH }
        func coordinates(_ p: (x: Double, y: Double)) -> String { String(format: "%.1f,%.1f", px(p.x), py(p.y)) }

        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                   + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">",
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
                   "<text x=\"\(left)\" y=\"24\" font-size=\"15\" font-weight=\"bold\">\(LineChart.escape(title))</text>",
                   "<rect x=\"\(left)\" y=\"\(upper)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#999\"/>"]
        for (t, label) in zip(yt.ticks, labels(yt.ticks, step: yt.step)) {
            let y = py(t)
            out.append("<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#eee\"/>")
            out.append("<text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\">\(label)</text>")
        }
        for (t, label) in xTicks {
            let x = String(format: "%.1f", px(t))
            out.append("<line x1=\"\(x)\" y1=\"\(upper)\" x2=\"\(x)\" y2=\"\(upper + plotH)\" stroke=\"#f2f2f2\"/>")
            out.append("<line x1=\"\(x)\" y1=\"\(upper + plotH)\" x2=\"\(x)\" y2=\"\(upper + plotH + 4)\" stroke=\"#999\"/>")
            out.append("<text x=\"\(x)\" y=\"\(upper + plotH + 17)\" font-size=\"11\" text-anchor=\"middle\">\(label)</text>")
        }

        // Bands first, so every line and dot stays on top of them.
        let bandOpacity = ["0.18", "0.32"]
        for forecastBands in bands {
            for (k, lo, hi) in forecastBands where !lo.isEmpty && lo.count == hi.count {
                let d: String
                if lo.count == 1 {
                    // One step: a narrow bar instead of a band of no width.
                    let (x, top, bottom) = (px(lo[0].x), py(hi[0].y), py(lo[0].y))
                    d = String(format: "M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f L%.1f,%.1f", x - 3, top, x + 3, top, x + 3, bottom, x - 3, bottom)
                } else {
                    d = "M" + (hi + lo.reversed()).map(coordinates).joined(separator: " L")
                }
                out.append("<path class=\"band\" d=\"\(d) Z\" fill=\"#1f77b4\" fill-opacity=\"\(bandOpacity[k])\" stroke=\"none\"/>")
            }
        }
        if history.count > 1 {
            out.append("<polyline class=\"history\" points=\"\(history.map(coordinates).joined(separator: " "))\" "
                       + "fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\"/>")
        } else if let p = history.first {
            out.append(String(format: "<circle class=\"history\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#333\"/>", px(p.x), py(p.y)))
        }
        // The origin: the last known time before the forecast's first step.
        let known = (history + observed.flatMap { $0 }).map(\.x).sorted()
        for f in forecasts {
            guard let first = f.times.first, first.isFinite else { continue }
            let origin = known.last { $0 < first } ?? first
            let x = String(format: "%.1f", px(origin))
            out.append("<line class=\"origin\" x1=\"\(x)\" y1=\"\(upper)\" x2=\"\(x)\" y2=\"\(upper + plotH)\" "
                       + "stroke=\"#777\" stroke-width=\"1\" stroke-dasharray=\"5 4\"/>")
        }
        for m in means {
            if m.count > 1 {
                out.append("<polyline class=\"mean\" points=\"\(m.map(coordinates).joined(separator: " "))\" "
                           + "fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>")
            } else if let p = m.first {
                out.append(String(format: "<circle class=\"mean\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"/>", px(p.x), py(p.y)))
            }
        }
        for p in observed.flatMap({ $0 }) {
            out.append(String(format: "<circle class=\"actual\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#d62728\"/>", px(p.x), py(p.y)))
        }

        // The legend, right of the plot: only what is drawn.
        var legend: [String] = []
        let lx = left + plotW + 12
        func entry(_ label: String, _ mark: (_ y: Double) -> String) {
            let y = upper + 14 + Double(legend.count / 2) * 20
            legend.append(mark(y - 4))
            legend.append("<text x=\"\(lx + 28)\" y=\"\(y)\" font-size=\"12\">\(LineChart.escape(label))</text>")
        }
        if !history.isEmpty {
            entry("history") { "<line x1=\"\(lx)\" y1=\"\($0)\" x2=\"\(lx + 22)\" y2=\"\($0)\" stroke=\"#333\" stroke-width=\"1.5\"/>" }
        }
        if !forecasts.isEmpty {
            entry("forecast mean") { "<line x1=\"\(lx)\" y1=\"\($0)\" x2=\"\(lx + 22)\" y2=\"\($0)\" stroke=\"#1f77b4\" stroke-width=\"2\"/>" }
        }
        if !bands.flatMap({ $0 }).isEmpty {
            for (k, interval) in shownIntervals.enumerated() {
                entry("\(BacktestReport.percent(interval.nominal)) interval") {
                    "<rect x=\"\(lx)\" y=\"\($0)\" width=\"22\" height=\"10\" fill=\"#1f77b4\" fill-opacity=\"\(bandOpacity[k])\" "
                        + "transform=\"translate(0 -5)\"/>"
                }
            }
        }
        if !observed.flatMap({ $0 }).isEmpty {
            entry("actual") { "<circle cx=\"\(lx + 11)\" cy=\"\($0)\" r=\"3\" fill=\"#d62728\"/>" }
        }
        if !forecasts.isEmpty {
            entry(forecasts.count == 1 ? "forecast origin" : "forecast origins") {
                "<line x1=\"\(lx + 11)\" y1=\"\($0 - 7)\" x2=\"\(lx + 11)\" y2=\"\($0 + 7)\" stroke=\"#777\" stroke-dasharray=\"3 2\"/>"
            }
        }
        out += legend
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// A backtest's windows of one series on one chart: the history before its first window,
    /// each window's forecast, and the actuals of every window.
    /// - Parameters:
    ///   - report: the backtest.
    ///   - series: the series, as given to `Backtest.run`.
    ///   - seriesIndex: its index there (its windows are those with this `seriesIndex`).
    ///   - timeKind: dates or numbers, for the x axis labels.
    ///   - historyPoints: draw only the last this many values before the first window; `nil` for all.
    public static func svg(backtest report: BacktestReport, series: TimeSeriesTable.Series, seriesIndex: Int,
                           timeKind: TimeSeriesTable.TimeKind, historyPoints: Int? = nil) -> String {
        let windows = report.windowsRun.filter { $0.seriesIndex == seriesIndex }
        let first = min(windows.map(\.origin).min() ?? series.values.count, series.values.count)
        let name = series.id.isEmpty ? "" : "\(series.id): "
        return svg(title: "\(name)backtest, \(windows.count) windows of \(report.horizon) steps",
                   times: Array(series.times[..<first]), values: Array(series.values[..<first]),
                   forecasts: windows.map(\.forecast), actuals: windows.map { ($0.times, $0.actual) },
                   timeKind: timeKind, historyPoints: historyPoints)
    }

    /// Round-number ticks inside [x0, x1] for a time column of plain numbers.
    static func numberTicks(_ x0: Double, _ x1: Double) -> [(Double, String)] {
        let t = LineChart.linearTicks(x0, x1, whole: x1 - x0 >= 4)
        let ticks = t.ticks.filter { $0 >= x0 && $0 <= x1 }
        // Whole steps on large times (a Unix time) keep every digit, as the files write them.
        if t.step >= 1 && ticks.allSatisfy({ abs($0) >= 1e5 && abs($0) < 1e15 }) {
            return ticks.map { ($0, ForecastWriter.timeText($0, timeKind: .number)) }
        }
        return Array(zip(ticks, labels(ticks, step: t.step)))
    }

    /// Tick labels as `LineChart` writes them, with more significant digits when that leaves two
    /// alike (ticks 1 200 000 and 1 205 000 both read "1.2e+06" with three).
    static func labels(_ ticks: [Double], step: Double) -> [String] {
        var labels = ticks.map { LineChart.format($0, step: step) }
        var digits = 4
        while Set(labels).count < labels.count && digits <= 15 {
            labels = ticks.map { String(format: "%.\(digits)g", $0) }
            digits += 1
        }
        return labels
    }

    /// Calendar ticks inside [x0, x1] (seconds since the epoch) at the finest step that leaves
    /// room for the labels: minutes or hours (YYYY-MM-DD HH:MM), days, weeks from Monday
    /// (YYYY-MM-DD), months (YYYY-MM) or years (YYYY).
    static func dateTicks(_ x0: Double, _ x1: Double, plotWidth: Double) -> [(Double, String)] {
        enum Unit { case seconds, days, months, years }
        let steps: [(Unit, Int)] = [(.seconds, 60), (.seconds, 300), (.seconds, 900), (.seconds, 1800), (.seconds, 3600),
                                    (.seconds, 3 * 3600), (.seconds, 6 * 3600), (.seconds, 12 * 3600),
                                    (.days, 1), (.days, 2), (.days, 7), (.days, 14),
                                    (.months, 1), (.months, 2), (.months, 3), (.months, 6),
                                    (.years, 1), (.years, 2), (.years, 5), (.years, 10), (.years, 20), (.years, 50),
                                    (.years, 100), (.years, 200), (.years, 500), (.years, 1000)]
        let firstDay = Int((x0 / 86_400).rounded(.down)), lastDay = Int((x1 / 86_400).rounded(.down))
        let (y0, m0, _) = ISODate.civil(fromDays: firstDay), (y1, m1, _) = ISODate.civil(fromDays: lastDay)
        for (unit, k) in steps {
            var ticks: [(Double, String)] = []
            let labelChars: Int
            switch unit {
            case .seconds:
                labelChars = 16
                guard (x1 - x0) / Double(k) <= 40 else { continue }
                var t = (x0 / Double(k)).rounded(.up) * Double(k)
                while t <= x1 {
                    // YYYY-MM-DDTHH:MM:SSZ → YYYY-MM-DD HH:MM.
                    ticks.append((t, String(ForecastWriter.timeText(t, timeKind: .date).prefix(16)).replacingOccurrences(of: "T", with: " ")))
                    t += Double(k)
                }
            case .days:
                labelChars = 10
                guard lastDay - firstDay <= 40 * k else { continue }
                // Weeks start on Mondays: day 0 (1970-01-01) was a Thursday, so Mondays have (d + 3) % 7 == 0.
                let shift = k >= 7 ? 3 : 0
                for d in firstDay...lastDay + 1 where (d + shift) % k == 0 {
                    let t = Double(d) * 86_400
                    if t >= x0 && t <= x1 { ticks.append((t, ISODate.dateString(days: d))) }
                }
            case .months, .years:
                labelChars = unit == .months ? 7 : 4
                let months = unit == .months ? k : 12 * k
                let first = y0 * 12 + m0 - 1, last = y1 * 12 + m1 - 1
                guard (last - first) / months <= 40 else { continue }
                for index in first...last + 1 where index % months == 0 {
                    let (y, m) = (index / 12, index % 12 + 1)
                    let days = ISODate.daysFromCivil(year: y, month: m, day: 1), t = Double(days) * 86_400
                    if t >= x0 && t <= x1 { ticks.append((t, String(ISODate.dateString(days: days).prefix(unit == .months ? 7 : 4)))) }
                }
            }
            // A label needs its width (about 6.5 px a character at 11 px) and a gap; at most 8 ticks.
            let room = min(8, Int(plotWidth / (Double(labelChars) * 6.5 + 18)))
            if ticks.count <= room && !ticks.isEmpty { return ticks }
        }
        // A span too short for a tick at any step (or too long for these): label its ends.
        return [(x0, ISODate.dateString(days: firstDay)), (x1, ISODate.dateString(days: lastDay))]
    }
}
