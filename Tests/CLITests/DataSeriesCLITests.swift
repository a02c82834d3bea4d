import Foundation
import Recurrent
import XCTest

/// `rnn data series`: the same bytes for the same seed, the documented columns, and a file that
/// reads back through the CSV and time-series layer with no warnings; bad values refused in one line.
final class DataSeriesCLITests: XCTestCase {
    func testSeriesIsDeterministicAndParsesBack() throws {
        let a = try runRNN(["data", "series", "--count", "2", "--length", "400", "--seed", "4"])
        let b = try runRNN(["data", "series", "--count", "2", "--length", "400", "--seed", "4"])
        let c = try runRNN(["data", "series", "--count", "2", "--length", "400", "--seed", "5"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertNotEqual(a.stdout, c.stdout)
        let csv = try CSVTable(text: a.stdout, path: "series.csv")
        XCTAssertEqual(csv.header, ["date", "series", "value", "day_of_week"])
        XCTAssertEqual(csv.rows.count, 800)
        XCTAssertEqual(csv.rows[0][0], "2020-01-01")
        XCTAssertEqual(csv.rows[0][3], "2")  // a Wednesday, Monday = 0
        XCTAssertEqual(csv.rows[59][0], "2020-02-29")
        let table = try TimeSeriesTable(csv, time: "date", target: "value", series: "series", covariates: ["day_of_week"])
        XCTAssertEqual(table.warnings, [])
        XCTAssertEqual(table.series.map(\.id), ["s1", "s2"])
        XCTAssertEqual(table.series.map(\.values.count), [400, 400])
        XCTAssertEqual(table.detectedSeason, 7)
        // Noise-free: a weekly pattern plus a slow trend and yearly wave, so the seasonal naive
        // beats the naive forecast on the last two weeks.
        let clean = try runRNN(["data", "series", "--count", "1", "--length", "200", "--noise", "0"])
        let s = try TimeSeriesTable(try CSVTable(text: clean.stdout, path: "c.csv"), time: "date", target: "value", series: "series").series[0]
        let past = Array(s.values[..<186]), future = Array(s.values[186...])
        let seasonal = try ForecastMetrics.mae(actual: future, forecast: Baselines.seasonalNaive(history: past, horizon: 14, season: 7))
        let naive = try ForecastMetrics.mae(actual: future, forecast: Baselines.naive(history: past, horizon: 14))
        XCTAssertLessThan(seasonal, naive)
    }

    func testBadValuesAreRefusedInOneLine() throws {
        for (arguments, expected) in [(["--length", "0"], "length '0'"), (["--length", "1"], "length '1'"),
                                      (["--count", "0"], "count '0'"), (["--noise", "-1"], "noise"),
                                      (["--noise", "nan"], "noise 'nan'"), (["--noise", "1e7"], "noise"),
                                      (["--count", "100", "--length", "1000000"], "at most 10000000 rows")] {
            let r = try runRNN(["data", "series"] + arguments)
            XCTAssertFalse(r.stdout.contains("date,"), "\(arguments)")
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertFalse(r.signaled)
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        let other = try runRNN(["data", "addition", "--length", "5"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("'rnn data series' only"), other.stderr)
    }
}
