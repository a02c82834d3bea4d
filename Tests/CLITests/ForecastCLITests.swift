import Foundation
import Recurrent
import XCTest

/// `rnn forecast fit/predict/backtest` end to end on generated series: the files each writes,
/// what they hold, and bad input refused in one line.
final class ForecastCLITests: ScratchFolderTestCase {
    /// A small daily CSV from `rnn data series` (2 series of 120 days), in the test's folder.
    func seriesCSV() throws -> String {
        let r = try runRNN(["data", "series", "--count", "2", "--length", "120", "--seed", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let csv = path("series.csv")
        XCTAssertTrue(FileManager.default.createFile(atPath: csv, contents: Data(r.stdout.utf8)))
        return csv
    }

    /// The columns of the generated CSV and a tiny, quick model.
    let columns = ["--time", "date", "--target", "value", "--series", "series"]
    let tiny = ["--hidden", "6", "--layers", "1", "--epochs", "2", "--batch", "16"]

    func testFitThenPredictWritesForecastsAndCharts() throws {
        let csv = try seriesCSV()
        let fit = try runRNN(["forecast", "fit", "--csv", csv] + columns + tiny + ["--horizon", "7", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        XCTAssertTrue(fit.stdout.contains("2 series"), fit.stdout)
        XCTAssertTrue(fit.stdout.contains("season 7"), fit.stdout)   // detected from daily dates
        for name in ["best.safetensors", "last.safetensors", "metrics.jsonl", "loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("run/\(name)")), name)
        }
        // The checkpoint remembers the columns: predict needs only the file.
        let predict = try runRNN(["forecast", "predict", "--checkpoint", path("run/best.safetensors"), "--csv", csv,
                                  "--horizon", "5", "--quantiles", "0.05,0.5,0.95", "--svg", path("plots")])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let table = try CSVTable(text: predict.stdout, path: "forecast.csv")
        XCTAssertEqual(table.header, ["time", "series", "mean", "sd", "q0.05", "q0.5", "q0.95"])
        XCTAssertEqual(table.rows.count, 2 * 5)
        // 120 days from 2020-01-01 end on 2020-04-29: the forecast starts the day after.
        XCTAssertEqual(table.rows[0][0...1], ["2020-04-30", "s1"])
        XCTAssertEqual(table.rows[5][0...1], ["2020-04-30", "s2"])
        for row in table.rows {
            let q = row[4...6].map { Double($0)! }
            XCTAssertLessThan(q[0], q[1])
            XCTAssertLessThan(q[1], q[2])
            XCTAssertEqual(q[1], Double(row[2])!)   // the Gaussian's median is its mean
        }
        for id in ["s1", "s2"] {
            let svg = try String(contentsOfFile: path("plots/\(id).svg"), encoding: .utf8)
            XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("\(id): forecast of 5 steps"), String(svg.prefix(200)))
        }
        // JSON lines to a file, written whole.
        let jsonl = try runRNN(["forecast", "predict", "--checkpoint", path("run/best.safetensors"), "--csv", csv,
                                "--format", "jsonl", "--out", path("f.jsonl")])
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = try String(contentsOfFile: path("f.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2 * 7)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["series"] as? String, "s1")
        XCTAssertNotNil((first["quantiles"] as? [String: Any])?["0.9"])
    }

    func testBacktestScoresModelAndBaselinesOnTheSameWindows() throws {
        let csv = try seriesCSV()
        let r = try runRNN(["forecast", "backtest", "--csv", csv] + columns + tiny
                           + ["--horizon", "7", "--windows", "3", "--out", path("bt"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let metrics = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(metrics["horizon"] as? Int, 7)
        XCTAssertEqual(metrics["windows"] as? Int, 3)
        XCTAssertEqual(metrics["season"] as? Int, 7)
        let overall = metrics["overall"] as! [String: Any]
        for name in ["model", "naive", "seasonal_naive"] { XCTAssertNotNil((overall[name] as? [String: Any])?["mase"], name) }
        XCTAssertEqual(try String(contentsOfFile: path("bt/metrics.json"), encoding: .utf8), r.stdout)
        // forecasts.csv: one row per window step, the windows ending at each series' end.
        let forecasts = try CSVTable(contentsOf: path("bt/forecasts.csv"))
        XCTAssertEqual(Array(forecasts.header.prefix(6)), ["time", "series", "origin", "actual", "mean", "sd"])
        XCTAssertEqual(forecasts.rows.count, 2 * 3 * 7)
        XCTAssertEqual(forecasts.rows[20][0], "2020-04-29")
        XCTAssertEqual(forecasts.rows[14][2], "2020-04-23")   // the third window's origin time
        // The actuals are the series' own values at those times.
        let series = try TimeSeriesTable(CSVTable(contentsOf: csv), time: "date", target: "value", series: "series").series[0]
        XCTAssertEqual(Double(forecasts.rows[20][3]), series.values.last)
        for name in ["s1.svg", "s2.svg", "model/best.safetensors", "model/metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("bt/\(name)")), name)
        }
        // A backtest folder is never written over.
        let again = try runRNN(["forecast", "backtest", "--csv", csv] + columns + tiny + ["--horizon", "7", "--out", path("bt")])
        expectOneLineError(again, ["already holds a backtest"])
        // The fitted model saw the windows' values: --checkpoint refuses it for this backtest.
        let fit = try runRNN(["forecast", "fit", "--csv", csv] + columns + tiny + ["--horizon", "7", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let leak = try runRNN(["forecast", "backtest", "--csv", csv] + columns
                              + ["--horizon", "7", "--checkpoint", path("run/best.safetensors"), "--out", path("bt2")])
        expectOneLineError(leak, ["fitted on values before the backtest's windows", "2020-04-29"])
        // The model fitted by the backtest itself did not: it can be backtested again, same windows.
        let reuse = try runRNN(["forecast", "backtest", "--csv", csv] + columns
                               + ["--horizon", "7", "--windows", "3", "--checkpoint", path("bt/model/best.safetensors"),
                                  "--out", path("bt3"), "--json"])
        XCTAssertEqual(reuse.status, 0, reuse.stderr)
        XCTAssertEqual(reuse.stdout, r.stdout)
    }

    func testCovariatesNeedTheirFuture() throws {
        let csv = try seriesCSV()
        let fit = try runRNN(["forecast", "fit", "--csv", csv] + columns + tiny
                             + ["--covariates", "day_of_week", "--horizon", "3", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let model = path("run/best.safetensors")
        expectOneLineError(try runRNN(["forecast", "predict", "--checkpoint", model, "--csv", csv]), ["--future FILE", "day_of_week"])
        // 2020-04-30 is a Thursday (3); s2's rows start a day late.
        let future = path("future.csv")
        let rows = "date,series,day_of_week\n2020-04-30,s1,3\n2020-05-01,s1,4\n2020-05-02,s1,5\n"
        XCTAssertTrue(FileManager.default.createFile(atPath: future, contents: Data(
            (rows + "2020-05-01,s2,4\n2020-05-02,s2,5\n2020-05-03,s2,6\n").utf8)))
        expectOneLineError(try runRNN(["forecast", "predict", "--checkpoint", model, "--csv", csv, "--future", future]),
                           ["series 's2' has no row at 2020-04-30"])
        XCTAssertTrue(FileManager.default.createFile(atPath: future, contents: Data(
            (rows + "2020-04-30,s2,3\n2020-05-01,s2,4\n2020-05-02,s2,5\n").utf8)))
        let ok = try runRNN(["forecast", "predict", "--checkpoint", model, "--csv", csv, "--future", future])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(try CSVTable(text: ok.stdout, path: "f").rows.count, 6)
    }

    func testBadInputIsRefusedInOneLine() throws {
        let csv = try seriesCSV()
        let bad = path("bad.csv")
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data("date,value\n2020-01-01,1\n2020-01-02,x\n".utf8)))
        let base = ["forecast", "fit", "--csv", csv] + columns + ["--out", path("run")]
        expectOneLineError(try runRNN(base + ["--horizon", "0"]), ["horizon '0'"])
        expectOneLineError(try runRNN(base + ["--horizon", "7", "--dropout", "1.5"]), ["dropout"])
        expectOneLineError(try runRNN(["forecast", "fit", "--csv", csv, "--time", "day", "--target", "value", "--horizon", "7",
                                       "--out", path("run")]), ["column", "day"])
        expectOneLineError(try runRNN(["forecast", "fit", "--csv", bad, "--time", "date", "--target", "value", "--horizon", "1",
                                       "--out", path("run")]), ["bad.csv:3", "'x'"])
        expectOneLineError(try runRNN(base + ["--horizon", "60"]), ["series 's1'", "at least"])
        expectOneLineError(try runRNN(base + ["--horizon", "7", "--covariates", "weather"]), ["weather"])
        expectOneLineError(try runRNN(["forecast", "predict", "--checkpoint", path("none.safetensors"), "--csv", csv]),
                           ["none.safetensors"])
        expectOneLineError(try runRNN(["forecast", "predict", "--checkpoint", try tinyTaskCheckpoint(), "--csv", csv]),
                           ["rnn predict"])
        for quantiles in ["0.9,0.1", "0,0.5", "a", "0.5,"] {
            expectOneLineError(try runRNN(["forecast", "backtest", "--csv", csv] + columns
                                          + ["--horizon", "7", "--quantiles", quantiles, "--out", path("bt")]), ["quantiles"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run/last.safetensors")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bt/metrics.json")))
    }
}
