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

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-2 { return String(format: "%.0e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
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
        let xs = all.map(\.x), ys = all.compactMap { transform($0.y) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y1 = y0 + 1; y0 -= 1 }
        if logY { y0 = y0.rounded(.down); y1 = y1.rounded(.up) }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + upper + (1 - (y - y0) / (y1 - y0)) * plotH }
        var out: [String] = []
        out.append("<text x=\"\(left)\" y=\"\(top + 18)\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>")
        out.append("<rect x=\"\(left)\" y=\"\(top + upper)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#999\"/>")
        // Grid and tick labels.
        let yTicks: [Double] = logY ? Array(stride(from: y0, through: y1, by: 1))
                                    : (0...4).map { y0 + Double($0) * (y1 - y0) / 4 }
        for t in yTicks {
            let y = py(t)
            out.append("<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + plotW)\" y2=\"\(y)\" stroke=\"#eee\"/>")
            let label = logY ? Self.format(Foundation.pow(10, t)) : Self.format(t)
            out.append("<text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\">\(label)</text>")
        }
        for i in 0...4 {
            var v = x0 + Double(i) * (x1 - x0) / 4
            if x1 - x0 >= 20 { v = v.rounded() }   // whole steps on step axes
            out.append("<text x=\"\(px(v))\" y=\"\(top + upper + plotH + 16)\" font-size=\"11\" text-anchor=\"middle\">\(Self.format(v))</text>")
        }
        out.append("<text x=\"\(left + plotW / 2)\" y=\"\(top + height - 8)\" font-size=\"12\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        out.append("<text x=\"16\" y=\"\(top + upper + plotH / 2)\" font-size=\"12\" text-anchor=\"middle\" "
                   + "transform=\"rotate(-90 16 \(top + upper + plotH / 2))\">\(Self.escape(yLabel))</text>")
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = s.points.compactMap { p in transform(p.y).map { (px(p.x), py($0)) } }
            if !pts.isEmpty {
                let d = pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
                let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
                out.append("<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>")
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
