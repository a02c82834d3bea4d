import Foundation
import Recurrent
import RecurrentApps

/// Renders matrices and vectors with their labels, the way the lecture draws them.
enum MatrixText {
    static func number(_ x: Float, decimals: Int) -> String {
        if decimals == 0, x == x.rounded() { return String(Int(x)) }
        return String(format: "%.\(decimals)f", x)
    }

    /// A labelled matrix:
    ///
    ///     Food (6×3)  pasta burger salad
    ///     same·pasta [  1     0     0  ]
    static func render(_ title: String, _ m: Matrix, rowLabels: [String], colLabels: [String], decimals: Int = 0) -> String {
        let cells = (0..<m.rows).map { r in (0..<m.cols).map { number(m[r, $0], decimals: decimals) } }
        let width = max(colLabels.map(\.count).max() ?? 1, cells.joined().map(\.count).max() ?? 1)
        let labelWidth = rowLabels.map(\.count).max() ?? 0
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines = ["\(title) (\(m.rows)×\(m.cols))"]
        if !colLabels.isEmpty {
            lines.append(String(repeating: " ", count: labelWidth + 4) + colLabels.map { pad($0, width) }.joined(separator: " "))
        }
        for r in 0..<m.rows {
            let label = r < rowLabels.count ? rowLabels[r] : ""
            lines.append("  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + " [ "
                         + cells[r].map { pad($0, width) }.joined(separator: " ") + " ]")
        }
        return lines.joined(separator: "\n")
    }

    /// [1, 0, 0]
    static func vector(_ v: [Float], decimals: Int = 0) -> String {
        "[" + v.map { number($0, decimals: decimals) }.joined(separator: ", ") + "]"
    }
}
