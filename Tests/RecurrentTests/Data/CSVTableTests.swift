import Foundation
import XCTest
@testable import Recurrent

/// The CSV reader (RFC 4180) and the time-series layer on it: quoting, line ends, byte order
/// marks, one-line errors with their line numbers, exact ISO dates, and the policy's errors and
/// warnings with their rows.
final class CSVTableTests: XCTestCase {
    func testQuotingEscapesLineEndsAndByteOrderMark() throws {
        let text = "name,note,value\na,\"x, y\",1\n\"b\",\"say \"\"hi\"\"\",2\nc,\"two\nlines\",3\n"
        let table = try CSVTable(text: text, path: "t.csv")
        XCTAssertEqual(table.header, ["name", "note", "value"])
        XCTAssertEqual(table.rows, [["a", "x, y", "1"], ["b", "say \"hi\"", "2"], ["c", "two\nlines", "3"]])
        XCTAssertEqual(table.lines, [2, 3, 4])
        for variant in [text.replacingOccurrences(of: "\n", with: "\r\n"), "\u{FEFF}" + text, String(text.dropLast())] {
            let other = try CSVTable(text: variant, path: "t.csv")
            XCTAssertEqual(other.header, table.header)
            XCTAssertEqual(other.lines, table.lines)
            // Inside quotes a CRLF is kept as written.
            XCTAssertEqual(other.rows.map { $0.map { $0.replacingOccurrences(of: "\r\n", with: "\n") } }, table.rows)
        }
        // Empty fields, an empty quoted field, blank lines skipped (lines still counted).
        let sparse = try CSVTable(text: "a,b\n,\"\"\n\n1,\n", path: "t.csv")
        XCTAssertEqual(sparse.rows, [["", ""], ["1", ""]])
        XCTAssertEqual(sparse.lines, [2, 4])
        // A file on disk and through `contentsOf`.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("t.csv").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try CSVTable(contentsOf: file).rows, table.rows)
    }

    /// Each malformed input: one line, "FILE:LINE: …", with the line where the problem is.
    func testErrorsNameTheLineInOneLine() {
        let cases: [([UInt8], String)] = [
            (Array("a,b\n1,2\n3\n".utf8), "t.csv:3: has 1 fields, the header has 2"),
            (Array("a,b\n1,2,3\n".utf8), "t.csv:2: has 3 fields, the header has 2"),
            (Array("a,b\n1,2\n\"3\n,4\n".utf8), "t.csv:3: a quoted field opened here is never closed (unterminated quote)"),
            (Array("a,b\n\"1\"x,2\n".utf8), "t.csv:2: text after a closing quote"),
            (Array("a,b\n1,2\n3,x\"y\n".utf8), "t.csv:3: a quote inside an unquoted field"),
            (Array("a,b\n1,2\n".utf8) + [0x33, 0xFF, 0x2C, 0x34, 0x0A], "t.csv:3: not UTF-8 text"),
            (Array("a,a\n1,2\n".utf8), "t.csv:1: the header names column 'a' twice"),
            (Array("a,,c\n".utf8), "t.csv:1: the header has an empty column name"),
            (Array("a,b\n1\r2,3\n".utf8), "t.csv:2: a lone carriage return"),
            ([], "t.csv: the file is empty; expected a header row"),
        ]
        for (bytes, expected) in cases {
            XCTAssertThrowsError(try CSVTable(bytes: bytes, path: "t.csv"), expected) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(expected), "\(message) ≠ \(expected)…")
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
    }

    func testNoByteSequenceCrashes() {
        var rng = SeededGenerator(seed: 7)
        let alphabet: [UInt8] = [0x2C, 0x22, 0x0A, 0x0D, 0x61, 0x31, 0xFF, 0xEF, 0xBB, 0xBF, 0xC3, 0xA9, 0x20]
        for _ in 0..<2000 {
            let bytes = (0..<rng.nextInt(below: 40)).map { _ in alphabet[rng.nextInt(below: alphabet.count)] }
            if let table = try? CSVTable(bytes: bytes, path: "f.csv") {
                XCTAssertTrue(table.rows.allSatisfy { $0.count == table.header.count })
            }
        }
    }

    /// Random tables of awkward times and values through the series layer: an error or a table, never a trap.
    func testSeriesLayerNeverTraps() {
        var rng = SeededGenerator(seed: 11)
        let times = ["1", "2", "-1e308", "1e308", "1.7e308", "0.5", "nan", "", "2020-02-29", "2020-01-01T00:00Z",
                     "0001-01-01", "9999-12-31T23:59:59", "2021-02-29", "x"]
        let values = ["1", "", "-0", "1e308", "abc", "3.5"]
        for _ in 0..<3000 {
            let rows = (0..<rng.nextInt(below: 8)).map { _ in
                "\(times[rng.nextInt(below: times.count)]),\(["a", "b"][rng.nextInt(below: 2)]),\(values[rng.nextInt(below: values.count)])"
            }
            let text = "t,id,y\n" + rows.joined(separator: "\n")
            if let table = try? TimeSeriesTable(try CSVTable(text: text, path: "r.csv"), time: "t", target: "y", series: "id") {
                for s in table.series { XCTAssertEqual(s.times, s.times.sorted()) }
                _ = table.detectedSeason
            }
        }
    }

    func testNumbersReportMissingAndBadValues() throws {
        let table = try CSVTable(text: "t,y\n1,2.5\n2,\n3, 4 \n", path: "t.csv")
        XCTAssertEqual(try table.numbers("y"), [2.5, nil, 4])
        XCTAssertThrowsError(try CSVTable(text: "t,y\n1,abc\n", path: "t.csv").numbers("y")) {
            XCTAssertEqual("\($0)", "t.csv:2: column 'y' is 'abc', expected a number")
        }
        XCTAssertThrowsError(try table.numbers("z")) { XCTAssertTrue("\($0)".contains("t, y"), "\($0)") }
    }

    func testISODatesAreExact() {
        XCTAssertEqual(ISODate.seconds("1970-01-01"), 0)
        XCTAssertEqual(ISODate.seconds("1970-01-02"), 86_400)
        XCTAssertEqual(ISODate.seconds("2000-01-01"), 946_684_800)
        XCTAssertEqual(ISODate.seconds("2020-02-29"), 1_582_934_400)  // a leap day
        XCTAssertEqual(ISODate.seconds("2000-02-29"), 951_782_400)  // divisible by 400: leap
        XCTAssertEqual(ISODate.seconds("2024-03-01T12:34:56Z"), 1_709_296_496)
        XCTAssertEqual(ISODate.seconds("2024-03-01T12:34Z"), 1_709_296_440)
        XCTAssertEqual(ISODate.seconds("2024-03-01 12:34:56"), 1_709_296_496)
        XCTAssertEqual(ISODate.seconds("1969-12-31"), -86_400)
        for bad in ["2021-02-29", "1900-02-29", "2020-13-01", "2020-00-10", "2020-01-32", "2020-1-01", "2020-01-01T24:00",
                    "2020-01-01T12:60", "2020-01-01T12:00:60", "2020-01-01Z", "2020-01-01T12", "20200101", "", "2020-01-01T12:00+01:00"] {
            XCTAssertNil(ISODate.seconds(bad), bad)
        }
        for days in [-800_000, -1, 0, 18_321, 2_932_896] {
            let (y, m, d) = ISODate.civil(fromDays: days)
            XCTAssertEqual(ISODate.daysFromCivil(year: y, month: m, day: d), days)
        }
        XCTAssertEqual(ISODate.dateString(days: 18_321), "2020-02-29")
    }

    func testLongFormatSeriesSortedWithCovariates() throws {
        let text = """
            date,id,y,dow
            2020-01-02,b,20,3
            2020-01-01,a,1,2
            2020-01-03,a,3,4
            2020-01-02,a,2,3
            2020-01-01,b,10,2

            """
        let table = try TimeSeriesTable(try CSVTable(text: text, path: "s.csv"), time: "date", target: "y", series: "id", covariates: ["dow"])
        XCTAssertEqual(table.timeKind, .date)
        XCTAssertEqual(table.series.map(\.id), ["b", "a"])
        let a = table.series[1]
        XCTAssertEqual(a.values, [1, 2, 3])
        XCTAssertEqual(a.lines, [3, 5, 4])
        XCTAssertEqual(a.covariates["dow"], [2, 3, 4])
        XCTAssertEqual(a.times, [1_577_836_800, 1_577_923_200, 1_578_009_600])
        XCTAssertEqual(a.step, 86_400)
        XCTAssertEqual(table.series[0].values, [10, 20])
        XCTAssertEqual(table.warnings, ["s.csv:6: series 'b' is not in time order; sorted by time",
                                        "s.csv:3: series 'a' is not in time order; sorted by time"])
        XCTAssertEqual(table.detectedSeason, 7)
    }

    func testPolicyErrorsWithTheirRows() {
        func read(_ text: String, covariates: [String] = []) throws -> TimeSeriesTable {
            try TimeSeriesTable(try CSVTable(text: text, path: "s.csv"), time: "t", target: "y", series: "id", covariates: covariates)
        }
        let cases: [(String, [String], String)] = [
            ("t,id,y\n1,a,1\n2,a,\n", [], "s.csv:3: target column 'y' is empty (a missing value)"),
            ("t,id,y\n1,a,1\n2,b,2\n1,a,5\n", [], "s.csv:4: series 'a' has time '1' twice (also on line 2)"),
            ("t,id,y\n1,a,1\nmonday,a,2\n", [], "s.csv:3: time column 't' is 'monday', expected a number"),
            ("t,id,y\n2020-01-01,a,1\n2020-02-30,a,2\n", [], "s.csv:3: time column 't' is '2020-02-30', expected an ISO 8601 date"),
            ("t,id,y,c\n1,a,1,0\n2,a,2,\n", ["c"], "s.csv:3: covariate column 'c' is empty"),
            ("t,id,y\n", [], "s.csv: has a header but no rows"),
        ]
        for (text, covariates, expected) in cases {
            XCTAssertThrowsError(try read(text, covariates: covariates)) {
                XCTAssertTrue("\($0)".hasPrefix(expected), "\($0) ≠ \(expected)…")
            }
        }
        XCTAssertThrowsError(try read("t,id,y\n1,a,1\n", covariates: ["nope"])) { XCTAssertTrue("\($0)".contains("'nope'"), "\($0)") }
    }

    func testGapsAreWarningsWithTheirRows() throws {
        // Step 1 (the median); 3 → 5 misses one step; 5 → 6.5 is irregular.
        let text = "t,y\n1,1\n2,1\n3,1\n5,1\n6.5,1\n7.5,1\n8.5,1\n"
        let table = try TimeSeriesTable(try CSVTable(text: text, path: "g.csv"), time: "t", target: "y")
        XCTAssertEqual(table.timeKind, .number)
        XCTAssertNil(table.detectedSeason)
        XCTAssertEqual(table.series.count, 1)
        XCTAssertEqual(table.series[0].step, 1)
        XCTAssertEqual(table.warnings, ["g.csv:5: the series: 1 steps missing before this row",
                                        "g.csv:6: the series: gap of 1.5 is not a whole number of its step 1.0 (irregular)"])
        // Extreme numeric times: reported, never a trap.
        let extreme = try TimeSeriesTable(try CSVTable(text: "t,y\n-1e308,1\n0,1\n1,1\n2,1\n3,1\n4,1\n1e308,1\n", path: "x.csv"), time: "t", target: "y")
        XCTAssertEqual(extreme.warnings.count, 2, "\(extreme.warnings)")
        XCTAssertTrue(extreme.warnings.allSatisfy { $0.hasSuffix("(irregular)") }, "\(extreme.warnings)")
        let infinite = try TimeSeriesTable(try CSVTable(text: "t,y\n-1.7e308,1\n1.7e308,1\n", path: "x.csv"), time: "t", target: "y")
        XCTAssertEqual(infinite.warnings.count, 1, "\(infinite.warnings)")
        // A gap well under the step is irregular too: steps of 10, then one of 2.
        let short = try TimeSeriesTable(try CSVTable(text: "t,y\n0,1\n10,1\n20,1\n22,1\n32,1\n", path: "x.csv"), time: "t", target: "y")
        XCTAssertEqual(short.warnings, ["x.csv:5: the series: gap of 2.0 is not a whole number of its step 10.0 (irregular)"])
        // Monthly dates: 28–31-day months are regular, a skipped month is reported, season 12.
        let monthly = "t,y\n2020-01-01,1\n2020-02-01,2\n2020-03-01,3\n2020-05-01,4\n2020-06-01,5\n2020-06-15,6\n"
        let months = try TimeSeriesTable(try CSVTable(text: monthly, path: "m.csv"), time: "t", target: "y")
        XCTAssertEqual(months.series[0].monthStep, 1)
        XCTAssertEqual(months.detectedSeason, 12)
        XCTAssertEqual(months.warnings.count, 2, "\(months.warnings)")
        XCTAssertTrue(months.warnings[0].hasPrefix("m.csv:5: the series: 1 steps missing"), months.warnings[0])
        XCTAssertTrue(months.warnings[1].hasPrefix("m.csv:7: the series: not on the day of the month"), months.warnings[1])
        // Hourly date-times with Z.
        let hourly = "t,y\n2020-01-01T00:00Z,1\n2020-01-01T01:00Z,2\n2020-01-01T03:00Z,3\n2020-01-01T04:00Z,3\n"
        let hours = try TimeSeriesTable(try CSVTable(text: hourly, path: "h.csv"), time: "t", target: "y")
        XCTAssertEqual(hours.detectedSeason, 24)
        XCTAssertEqual(hours.warnings, ["h.csv:4: the series: 1 steps missing before this row"])
    }
}
