import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Recurrent
@testable import RecurrentApps

/// Forecast files read back through the project's CSV reader and JSONSerialization, and forecast
/// charts checked as XML.
final class ForecastOutputTests: XCTestCase {
    let levels = [0.05, 0.5, 0.95]

    func day(_ text: String) -> Double { ISODate.seconds(text)! }

    func testTimeText() {
        XCTAssertEqual(ForecastWriter.timeText(day("2024-02-29"), timeKind: .date), "2024-02-29")
        XCTAssertEqual(ForecastWriter.timeText(day("2024-01-01T06:30:05Z"), timeKind: .date), "2024-01-01T06:30:05Z")
        XCTAssertEqual(ForecastWriter.timeText(day("1969-12-31T23:00"), timeKind: .date), "1969-12-31T23:00:00Z")
        for (t, text) in [(12.0, "12"), (12.5, "12.5"), (-3, "-3"), (0.1 + 0.2, "0.30000000000000004"), (1e20, "1e+20")] {
            XCTAssertEqual(ForecastWriter.timeText(t, timeKind: .number), text)
            XCTAssertEqual(Double(text), t, "round trip of \(text)")
        }
    }

    func testCSVOfADateSeriesReadsBack() throws {
        // A monthly series ending 2024-01-31: the next months end on the 29th (leap year) and the 31st.
        let monthly = TimeSeriesTable.Series(id: "store \"7\", north", times: [day("2023-12-31"), day("2024-01-31")],
                                             values: [1, 2], covariates: [:], lines: [2, 3], step: 31 * 86_400, monthStep: 1)
        let times = try monthly.futureTimes(3, timeKind: .date)
        let f = try Forecast(series: monthly.id, times: times, mean: [0.1 + 0.2, 1e-7, 12345.678],
                             standardDeviation: [0.5, 0, 2], levels: levels)
        let text = ForecastWriter.text([f], timeKind: .date, format: .csv)
        XCTAssertTrue(text.hasPrefix("time,series,mean,sd,q0.05,q0.5,q0.95\n"), text)
        XCTAssertTrue(text.contains("\"store \"\"7\"\", north\""), "RFC 4180 quoting: \(text)")
        let table = try CSVTable(text: text)
        XCTAssertEqual(table.header, ["time", "series", "mean", "sd", "q0.05", "q0.5", "q0.95"])
        XCTAssertEqual(try table.column("time"), ["2024-02-29", "2024-03-31", "2024-04-30"])
        XCTAssertEqual(try table.column("series"), Array(repeating: monthly.id, count: 3))
        // Exact round trips: the shortest decimal that reads back to the same Double.
        XCTAssertEqual(try table.numbers("mean").map { $0! }, f.mean)
        XCTAssertEqual(try table.numbers("sd").map { $0! }, f.standardDeviation)
        for (k, level) in levels.enumerated() {
            XCTAssertEqual(try table.numbers("q\(level)").map { $0! }, f.quantiles[k])
        }
    }

    func testCSVOfANumberSeriesWithOriginsAndActuals() throws {
        let a = try Forecast(series: "a", times: [10, 11], mean: [1, 2], standardDeviation: [1, 1], levels: [0.1, 0.9])
        let b = try Forecast(series: "a", times: [12, 12.5], mean: [3, 4], standardDeviation: [1, 1], levels: [0.1, 0.9])
        let text = ForecastWriter.text([a, b], timeKind: .number, format: .csv, origins: ["10", "12"], actuals: [[1.5, 2.5], [3.5, -4]])
        let table = try CSVTable(text: text)
        XCTAssertEqual(table.header, ["time", "series", "origin", "actual", "mean", "sd", "q0.1", "q0.9"])
        XCTAssertEqual(try table.column("time"), ["10", "11", "12", "12.5"])
        XCTAssertEqual(try table.column("origin"), ["10", "10", "12", "12"])
        XCTAssertEqual(try table.numbers("actual"), [1.5, 2.5, 3.5, -4])
        XCTAssertEqual(try table.numbers("q0.9").map { $0! }, a.quantiles[1] + b.quantiles[1])
    }

    func testJSONLinesReadBack() throws {
        let f = try Forecast(series: "x,\"y\"", times: [day("2024-03-01"), day("2024-03-01T12:00")], mean: [1.25, -2],
                             standardDeviation: [0.1, 0.2], levels: levels)
        let text = ForecastWriter.text([f], timeKind: .date, format: .jsonl, origins: ["2024-03-01", "2024-03-01"], actuals: [[1, 2]])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines.last, "")
        for (h, line) in lines.dropLast().enumerated() {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["series"] as? String, "x,\"y\"")
            XCTAssertEqual(object["time"] as? String, ["2024-03-01", "2024-03-01T12:00:00Z"][h])
            XCTAssertEqual(object["mean"] as? Double, f.mean[h])
            XCTAssertEqual(object["actual"] as? Double, [1.0, 2][h])
            let quantiles = try XCTUnwrap(object["quantiles"] as? [String: Double])
            XCTAssertEqual(quantiles.count, 3)
            // Foundation's JSON parser on Linux can miss the last bit; the text itself is exact.
            XCTAssertEqual(quantiles["0.05"] ?? 0, f.quantiles[0][h], accuracy: 1e-15 * abs(f.quantiles[0][h]))
            XCTAssertTrue(line.contains("\"0.95\": \(f.quantiles[2][h])"), String(line))
            XCTAssertEqual(Double("\(f.quantiles[2][h])"), f.quantiles[2][h])
            // Keys in the documented order.
            let keys = ["time", "series", "origin", "actual", "mean", "sd", "quantiles"].map { key in
                line.range(of: "\"\(key)\"").map { line.distance(from: line.startIndex, to: $0.lowerBound) } ?? -1
            }
            XCTAssertEqual(keys, keys.sorted().filter { $0 >= 0 }, String(line))
        }
        // Number times stay numbers.
        let n = try Forecast(series: "", times: [7], mean: [1], standardDeviation: [0], levels: [0.5])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ForecastWriter.text([n], timeKind: .number, format: .jsonl).utf8))
                                   as? [String: Any])
        XCTAssertEqual(object["time"] as? Double, 7)
        XCTAssertNil(object["origin"])
    }

    /// A daily series of 60 days with two backtest windows of 7 days.
    func backtestChart(levels: [Double]) throws -> (svg: String, actualPoints: Int) {
        let start = day("2024-01-01")
        let times = (0..<60).map { start + Double($0) * 86_400 }
        let values = times.indices.map { 10 + 3 * sin(Double($0) * 2 * .pi / 7) + Double($0) * 0.05 }
        let windows = [46, 53].map { o in
            try! Forecast(series: "s", times: Array(times[o..<(o + 7)]), mean: Array(repeating: values[o - 1], count: 7),
                          standardDeviation: (1...7).map { 0.5 * Double($0).squareRoot() }, levels: levels)
        }
        let actuals = [46, 53].map { o in (times: Array(times[o..<(o + 7)]), values: Array(values[o..<(o + 7)])) }
        let svg = ForecastChart.svg(title: "s: backtest", times: Array(times[..<46]), values: Array(values[..<46]),
                                    forecasts: windows, actuals: actuals, timeKind: .date, historyPoints: 30)
        return (svg, 14)
    }

    func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    func testChartIsWellFormedWithItsParts() throws {
        // Levels with two central intervals (80%, 50%): two bands per forecast.
        let (svg, points) = try backtestChart(levels: [0.1, 0.25, 0.5, 0.75, 0.9])
        _ = try XMLDocument(xmlString: svg)
        XCTAssertEqual(count("class=\"band\"", in: svg), 4)
        XCTAssertEqual(count("class=\"mean\"", in: svg), 2)
        XCTAssertEqual(count("class=\"origin\"", in: svg), 2)
        XCTAssertEqual(count("class=\"history\"", in: svg), 1)
        XCTAssertEqual(count("class=\"actual\"", in: svg), points)
        XCTAssertTrue(svg.contains(">80% interval<") && svg.contains(">50% interval<"), svg)
        XCTAssertFalse(svg.contains("<script"))
        // Date ticks, YYYY-MM-DD, few enough to read.
        let labels = try tickLabels(svg)
        XCTAssertTrue((3...8).contains(labels.count), "\(labels)")
        XCTAssertTrue(labels.allSatisfy { $0.count == 10 && ISODate.seconds($0) != nil }, "\(labels)")

        // One interval: one band per forecast.
        let (one, _) = try backtestChart(levels: [0.1, 0.5, 0.9])
        XCTAssertEqual(count("class=\"band\"", in: one), 2)
        XCTAssertFalse(one.contains("50% interval"))
    }

    func testChartEscapesTheTitleAndLabelsMonths() throws {
        let times = (0..<36).map { Double(ISODate.daysFromCivil(year: 2021 + $0 / 12, month: $0 % 12 + 1, day: 1)) * 86_400 }
        let series = TimeSeriesTable.Series(id: "a<&\"b", times: times, values: times.indices.map { Double($0 % 12) },
                                            covariates: [:], lines: [], step: 30 * 86_400, monthStep: 1)
        let f = try Forecast(series: series.id, times: try series.futureTimes(6, timeKind: .date), mean: Array(repeating: 5, count: 6),
                             standardDeviation: Array(repeating: 1, count: 6), levels: [0.1, 0.5, 0.9])
        let svg = ForecastChart.svg(title: "\(series.id) <&> forecast", times: series.times, values: series.values,
                                    forecasts: [f], timeKind: .date)
        _ = try XMLDocument(xmlString: svg)
        XCTAssertTrue(svg.contains("a&lt;&amp;&quot;b &lt;&amp;&gt; forecast"), svg)
        let labels = try tickLabels(svg)
        XCTAssertTrue((3...8).contains(labels.count), "\(labels)")
        XCTAssertTrue(labels.allSatisfy { $0.count == 7 || $0.count == 4 }, "months or years: \(labels)")
        XCTAssertEqual(count("class=\"actual\"", in: svg), 0)

        // Plain-number times: number ticks; one forecast step draws a dot and a bar.
        let g = try Forecast(series: "", times: [10], mean: [1], standardDeviation: [1], levels: [0.1, 0.5, 0.9])
        let numbers = ForecastChart.svg(title: "n", times: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], values: [1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
                                        forecasts: [g], timeKind: .number)
        _ = try XMLDocument(xmlString: numbers)
        XCTAssertEqual(count("class=\"band\"", in: numbers), 1)
        XCTAssertEqual(try tickLabels(numbers).compactMap(Double.init).count, try tickLabels(numbers).count)
    }

    func testChartOfNothingOrOfGapsIsStillAChart() throws {
        for svg in [ForecastChart.svg(title: "", times: [], values: [], forecasts: [], timeKind: .date),
                    ForecastChart.svg(title: "one", times: [5], values: [.nan], forecasts: [], timeKind: .number),
                    ForecastChart.svg(title: "flat", times: [0, 1, 2], values: [3, .infinity, 3], forecasts: [], timeKind: .number)] {
            _ = try XMLDocument(xmlString: svg)
            XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), svg)
        }
    }

    func testTickLabelsStayDistinct() {
        // Three significant digits would write 1.2e+06 twice.
        let labels = ForecastChart.labels([1_200_000, 1_205_000, 1_210_000], step: 5_000)
        XCTAssertEqual(Set(labels).count, 3, "\(labels)")
        XCTAssertEqual(ForecastChart.numberTicks(1_700_000_000, 1_700_000_900).map(\.1).first, "1700000000")
        XCTAssertEqual(ForecastChart.labels([0, 0.5, 1], step: 0.5), ["0", "0.5", "1.0"])
    }

    /// The x tick labels: the texts anchored in the middle just below the plot.
    func tickLabels(_ svg: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: "text-anchor=\"middle\">([^<]*)</text>")
        return regex.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map {
            String(svg[Range($0.range(at: 1), in: svg)!])
        }
    }

    func testBacktestChart() throws {
        let times = (0..<30).map { Double($0) }
        let series = TimeSeriesTable.Series(id: "b", times: times, values: times.map { $0.truncatingRemainder(dividingBy: 5) },
                                            covariates: [:], lines: [], step: 1, monthStep: nil)
        let report = try Backtest.run(series: [series], horizon: 4, windows: 3, season: 5, minimumHistory: 5) { _, o in
            try Forecast(series: "b", times: Array(times[o..<(o + 4)]), mean: Array(repeating: 2, count: 4),
                         standardDeviation: Array(repeating: 1, count: 4), levels: [0.1, 0.5, 0.9])
        }
        let svg = ForecastChart.svg(backtest: report, series: series, seriesIndex: 0, timeKind: .number)
        // Its windows as a file: one row per step, the window's first time as its origin.
        let table = try CSVTable(text: ForecastWriter.text(backtest: report, timeKind: .number, format: .csv))
        XCTAssertEqual(try table.column("origin"), ["18", "18", "18", "18", "22", "22", "22", "22", "26", "26", "26", "26"])
        XCTAssertEqual(try table.numbers("actual").map { $0! }, report.windowsRun.flatMap(\.actual))
        XCTAssertEqual(try table.column("time").first, "18")
        _ = try XMLDocument(xmlString: svg)
        XCTAssertTrue(svg.contains(">b: backtest, 3 windows of 4 steps<"), svg)
        XCTAssertEqual(count("class=\"band\"", in: svg), 3)
        XCTAssertEqual(count("class=\"mean\"", in: svg), 3)
        XCTAssertEqual(count("class=\"actual\"", in: svg), 12)
        // The history stops before the first window, at origin 30 − 4 − 2·4 = 18: 18 points.
        XCTAssertEqual(report.windowsRun.first?.origin, 18)
        let history = try XCTUnwrap(svg.range(of: "class=\"history\" points=\"[^\"]*\"", options: .regularExpression))
        XCTAssertEqual(svg[history].split(separator: " ").count, 1 + 18, String(svg[history]))
    }
}
