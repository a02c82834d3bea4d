import Foundation

/// A line chart drawn as SVG: learning curves, gradient norms. No dependencies; the text is
/// deterministic for the same data.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool
        /// A named line; `dashed` draws it dashed (a baseline).
        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Logarithmic y axis; non-positive values are left out.
    public var logY: Bool
    public var series: [Series]

    /// A chart of `series` with its title and axis labels.
    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logY = logY
        self.series = series
    }

    /// The line colours, in order (matplotlib's first eight).
    package static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// `s` escaped for SVG text and attribute values.
    package static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Whether `values` call for a log axis: all positive and spanning more than a decade.
    public static func spansDecades(_ values: [Double]) -> Bool {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), low > 0 else { return false }
        return high / low > 10
    }

    /// The tick spacing of 1, 2 or 5 × 10^k nearest to `span / count`.
    package static func niceStep(_ span: Double, count: Int = 4) -> Double {
        let raw = span / Double(count)
        let decade = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let m = raw / decade
        return decade * (m <= 1.5 ? 1 : m <= 3 ? 2 : m <= 7 ? 5 : 10)
    }

    /// Ticks at multiples of a nice step covering [low, high]; the range widened to them.
    /// - Parameter whole: whole-number ticks only (a step axis).
    package static func linearTicks(_ low: Double, _ high: Double, whole: Bool = false) -> (ticks: [Double], low: Double, high: Double, step: Double) {
        let step = whole ? max(niceStep(high - low), 1) : niceStep(high - low)
        let first = (low / step).rounded(.down) * step, last = (high / step).rounded(.up) * step
        let n = Int(((last - first) / step).rounded())
        return ((0...n).map { first + Double($0) * step }, first, last, step)
    }

    /// `v` with as many decimals as ticks `step` apart need to read differently.
    package static func format(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.3g", v) }
        let decimals = max(0, Int(-(Foundation.log10(step)).rounded(.down)))
        return String(format: "%.\(decimals)f", v)
    }

    /// A value on a log axis: 0.001, 0.02, 5, 300, 1e+05.
    static func format(logValue v: Double) -> String {
        v >= 1e5 || v < 1e-3 ? String(format: "%.0e", v) : String(format: "%g", v)
    }

    /// The chart as an SVG group at (0, top), `width`×`height`.
    func group(top: Double, width: Double, height: Double) -> String {
        let (left, right, upper, lower) = (70.0, 150.0, 30.0, 45.0)
        let plotW = width - left - right, plotH = height - upper - lower
        let transform: (Double) -> Double? = { y in
            if self.logY { return y > 0 && y.isFinite ? Foundation.log10(y) : nil }
            return y.isFinite ? y : nil
        }
        let all = series.flatMap { $0.points }
        let xs = all.map(\.x).filter(\.isFinite), ys = all.compactMap { transform($0.y) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        // One point (or one value): a range around it, so it sits inside the plot.
        if x1 <= x0 { (x0, x1) = (x0 - 1, x1 + 1) }
        if y1 <= y0 { (y0, y1) = logY ? (y0 - 0.5, y1 + 0.5) : (y0 - max(abs(y0) * 0.1, 1e-3), y1 + max(abs(y1) * 0.1, 1e-3)) }
        // y ticks: decades (with 2 and 5 between when there are few) on a log axis, else nice steps.
        var yTicks: [(value: Double, label: String)]
        if logY {
            (y0, y1) = (y0.rounded(.down), y1.rounded(.up))
            let few = y1 - y0 <= 2
            yTicks = stride(from: y0, through: y1, by: 1).flatMap { d -> [(value: Double, label: String)] in
                let marks = few && d < y1 ? [1.0, 2, 5] : [1.0]
                return marks.map { m in (d + Foundation.log10(m), Self.format(logValue: m * Foundation.pow(10, d))) }
            }
        } else {
            let t = Self.linearTicks(y0, y1)
            (y0, y1) = (t.low, t.high)
            yTicks = t.ticks.map { ($0, Self.format($0, step: t.step)) }
        }
        let xt = Self.linearTicks(x0, x1, whole: xs.allSatisfy { $0 == $0.rounded() })
        (x0, x1) = (xt.low, xt.high)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + upper + (1 - (y - y0) / (y1 - y0)) * plotH }
        var out: [String] = []
        out.append("<text x=\"\(left)\" y=\"\(top + 18)\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>")
        out.append("<rect x=\"\(left)\" y=\"\(top + upper)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#999\"/>")
        for (t, label) in yTicks {
            let y = py(t)
            out.append("<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#eee\"/>")
            out.append("<text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\">\(label)</text>")
        }
        for v in xt.ticks {
            out.append("<text x=\"\(px(v))\" y=\"\(top + upper + plotH + 16)\" font-size=\"11\" text-anchor=\"middle\">"
                       + "\(Self.format(v, step: xt.step))</text>")
        }
        out.append("<text x=\"\(left + plotW / 2)\" y=\"\(top + height - 8)\" font-size=\"12\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        out.append("<text x=\"16\" y=\"\(top + upper + plotH / 2)\" font-size=\"12\" text-anchor=\"middle\" "
                   + "transform=\"rotate(-90 16 \(top + upper + plotH / 2))\">\(Self.escape(yLabel))</text>")
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = s.points.compactMap { p in transform(p.y).map { (px(p.x), py($0)) } }
            if pts.count > 1 {
                let d = pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
                let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
                out.append("<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
            }
            // A dot per point where the points are few enough to tell apart (one per evaluation).
            if !s.dashed && pts.count <= 60 {
                for (x, y) in pts {
                    out.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" ", x, y) + "fill=\"\(color)\"/>")
                }
            }
            let ly = top + upper + 14 + Double(i) * 18
            out.append("<line x1=\"\(left + plotW + 12)\" y1=\"\(ly - 4)\" x2=\"\(left + plotW + 32)\" y2=\"\(ly - 4)\" "
                       + "stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
            out.append("<text x=\"\(left + plotW + 38)\" y=\"\(ly)\" font-size=\"12\">\(Self.escape(s.name))</text>")
        }
        return out.joined(separator: "\n")
    }

    /// One or more charts stacked vertically in one SVG document.
    public static func document(_ charts: [LineChart], width: Double = 760, chartHeight: Double = 340) -> String {
        let height = chartHeight * Double(charts.count)
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                   + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">",
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]
        for (i, chart) in charts.enumerated() {
            out.append(chart.group(top: Double(i) * chartHeight, width: width, height: chartHeight))
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}
