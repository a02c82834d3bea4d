import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Rolling-origin windows and the backtest's scores, against arithmetic done by hand.
final class BacktestTests: XCTestCase {
    func testOriginsByHand() throws {
        // oₖ = n − H − (K − 1 − k)·S with n = 20, H = 3, K = 4: S = 3 gives 17 − 9, 17 − 6, 17 − 3, 17.
        XCTAssertEqual(try Backtest.origins(length: 20, horizon: 3, windows: 4, minimumHistory: 8), [8, 11, 14, 17])
        // S = 1: 17 − 3, 17 − 2, 17 − 1, 17.
        XCTAssertEqual(try Backtest.origins(length: 20, horizon: 3, windows: 4, stride: 1, minimumHistory: 1), [14, 15, 16, 17])
        XCTAssertEqual(try Backtest.origins(length: 5, horizon: 5, windows: 1, minimumHistory: 0), [0])
    }

    func testOriginsRefuseTooLittleHistory() {
        // o₀ = 8 < 9: the series needs 9 + 3 + 3·3 = 21 values.
        XCTAssertThrowsError(try Backtest.origins(length: 20, horizon: 3, windows: 4, minimumHistory: 9)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'20'") && text.contains("at least 21") && text.contains("fewer windows"), text)
        }
        XCTAssertThrowsError(try Backtest.origins(length: 20, horizon: 0, windows: 4, minimumHistory: 1))
        XCTAssertThrowsError(try Backtest.origins(length: 20, horizon: 3, windows: 0, minimumHistory: 1))
        XCTAssertThrowsError(try Backtest.origins(length: 20, horizon: 3, windows: 2, stride: 0, minimumHistory: 1))
    }

    /// Series a = 1 3 2 4 3 5 4 8 and b = 2 (eight times); H = 2, K = 2, S = 2, m = 2 → origins 4 and 6.
    /// The model forecasts 5 with σ = 1 at levels 0.1, 0.5, 0.9: the 80% interval is 5 ± 1.2816.
    func series() -> [TimeSeriesTable.Series] {
        let times = (0..<8).map(Double.init)
        return [TimeSeriesTable.Series(id: "a", times: times, values: [1, 3, 2, 4, 3, 5, 4, 8], covariates: [:],
                                       lines: Array(2..<10), step: 1, monthStep: nil),
                TimeSeriesTable.Series(id: "b", times: times, values: Array(repeating: 2, count: 8), covariates: [:],
                                       lines: Array(2..<10), step: 1, monthStep: nil)]
    }

    func constantFive(_ all: [TimeSeriesTable.Series], horizon: Int = 2) -> (Int, Int) throws -> Forecast {
        { i, o in
            try Forecast(series: all[i].id, times: Array(all[i].times[o..<(o + horizon)]), mean: Array(repeating: 5, count: horizon),
                         standardDeviation: Array(repeating: 1, count: horizon), levels: [0.1, 0.5, 0.9])
        }
    }

    func testScoresByHand() throws {
        let all = series()
        let report = try Backtest.run(series: all, horizon: 2, windows: 2, season: 2, minimumHistory: 2, forecast: constantFive(all))
        XCTAssertEqual(report.windowsRun.map { "\($0.series)@\($0.origin)" }, ["a@4", "a@6", "b@4", "b@6"])
        XCTAssertEqual(report.stride, 2)
        XCTAssertEqual(report.levels, [0.1, 0.5, 0.9])
        // CRPS of N(μ, 1) at y with z = y − μ: c(0) = 0.2337, c(±1) = 0.6024, c(±2) = 1.4528, c(±3) = 2.4366.
        let c0 = 0.23369497725510913, c1 = 0.6024413576276163, c2 = 1.4527918216859033, c3 = 2.4365747250863397

        // a@4: history 1 3 2 4, actual 3 5. MASE scale (m = 2): (|2−1| + |4−3|)/2 = 1.
        let w0 = report.windowsRun[0]
        XCTAssertEqual(w0.actual, [3, 5])
        // Model 5 5: errors 2, 0 → MAE 1, RMSE √(4/2), MASE 1, sMAPE 50·(4/8 + 0) = 25, CRPS (c(−2) + c(0))/2;
        // inside [3.72, 6.28]: 5 only → 1 of 2.
        try check(w0.modelScores, mae: 1, rmse: 2.0.squareRoot(), mase: 1, smape: 25, crps: (c2 + c0) / 2, coverage: [0.5])
        // Naive 4 4: errors 1, 1 → MAE 1, RMSE 1, MASE 1, sMAPE 50·(2/7 + 2/9) = 1600/63, CRPS = MAE.
        XCTAssertEqual(w0.naive, [4, 4])
        try check(w0.naiveScores, mae: 1, rmse: 1, mase: 1, smape: 1600.0 / 63, crps: 1, coverage: [])
        // Seasonal naive (last season 2 4): errors 1, 1 → sMAPE 50·(2/5 + 2/9) = 280/9.
        XCTAssertEqual(w0.seasonalNaive, [2, 4])
        try check(w0.seasonalNaiveScores, mae: 1, rmse: 1, mase: 1, smape: 280.0 / 9, crps: 1, coverage: [])

        // a@6: history 1 3 2 4 3 5 (scale (1+1+1+1)/4 = 1), actual 4 8. Model: errors 1, 3 → MAE 2, RMSE √5,
        // MASE 2, sMAPE 50·(2/9 + 6/13) = 4000/117, CRPS (c(1) + c(3))/2; inside: 4 only → 1 of 2.
        let w1 = report.windowsRun[1]
        try check(w1.modelScores, mae: 2, rmse: 5.0.squareRoot(), mase: 2, smape: 4000.0 / 117, crps: (c1 + c3) / 2, coverage: [0.5])
        // Seasonal naive 3 5: errors 1, 3 → sMAPE 50·(2/7 + 6/13) = 50·68/91.
        try check(w1.seasonalNaiveScores, mae: 2, rmse: 5.0.squareRoot(), mase: 2, smape: 3400.0 / 91, crps: 2, coverage: [])

        // b: a constant history has MASE scale 0. Model: errors 3, 3 → MAE 3, MASE +∞, sMAPE 100·6/7,
        // CRPS c(3), nothing inside. The baselines are exact: every score 0 (MASE 0/0 = 0).
        for w in report.windowsRun[2...] {
            try check(w.modelScores, mae: 3, rmse: 3, mase: .infinity, smape: 600.0 / 7, crps: c3, coverage: [0])
            try check(w.naiveScores, mae: 0, rmse: 0, mase: 0, smape: 0, crps: 0, coverage: [])
        }

        // The baselines are those of `Baselines` on each window's history.
        for w in report.windowsRun {
            let history = Array(all[w.seriesIndex].values[..<w.origin])
            XCTAssertEqual(w.naive, try Baselines.naive(history: history, horizon: 2))
            XCTAssertEqual(w.seasonalNaive, try Baselines.seasonalNaive(history: history, horizon: 2, season: 2))
            XCTAssertEqual(w.times, Array(all[w.seriesIndex].times[w.origin..<(w.origin + 2)]))
        }

        // Per series a: the mean of its two windows; coverage (1 + 1) of 4 steps.
        XCTAssertEqual(report.perSeries.map(\.id), ["a", "b"])
        try check(report.perSeries[0].model, mae: 1.5, rmse: (2.0.squareRoot() + 5.0.squareRoot()) / 2, mase: 1.5,
                  smape: (25 + 4000.0 / 117) / 2, crps: ((c2 + c0) / 2 + (c1 + c3) / 2) / 2, coverage: [0.5])
        // Overall: four windows each counting once, MAE (1 + 2 + 3 + 3)/4; coverage 2 of 8 steps; MASE +∞.
        try check(report.overall.model, mae: 2.25, rmse: (2.0.squareRoot() + 5.0.squareRoot() + 6) / 4, mase: .infinity,
                  smape: (25 + 4000.0 / 117 + 1200.0 / 7) / 4, crps: ((c2 + c0) / 2 + (c1 + c3) / 2 + 2 * c3) / 4, coverage: [0.25])
        try check(report.overall.naive, mae: 0.75, rmse: (1 + 5.0.squareRoot()) / 4, mase: 0.75,
                  smape: (1600.0 / 63 + 4000.0 / 117) / 4, crps: 0.75, coverage: [])
        XCTAssertEqual(report.overall.model.coverage.first.map { [$0.lower, $0.upper] }, [0.1, 0.9])
        XCTAssertEqual(report.overall.model.coverage.first?.nominal, 0.8)

        let table = report.table()
        XCTAssertTrue(table.contains("cov 80%") && table.contains("seasonal naive") && table.contains("inf"), table)
        XCTAssertEqual(table.split(separator: "\n").count, 5, table)
    }

    func testMASEScaleFallsBackToOneWhenTheHistoryIsOneSeason() throws {
        let all = [series()[0]]
        // m = 4: a@4's history 1 3 2 4 holds only one season, so its scale is the naive one,
        // (|3−1| + |2−3| + |4−2|)/3 = 5/3, and the model's MAE 1 gives MASE 0.6. a@6's history
        // 1 3 2 4 3 5 has scale (|3−1| + |5−3|)/2 = 2, MAE 2 gives MASE 1.
        let report = try Backtest.run(series: all, horizon: 2, windows: 2, season: 4, minimumHistory: 1, forecast: constantFive(all))
        XCTAssertEqual(report.windowsRun.map(\.origin), [4, 6])
        XCTAssertEqual(report.windowsRun[0].modelScores.mase, 0.6, accuracy: 1e-12)
        XCTAssertEqual(report.windowsRun[1].modelScores.mase, 1, accuracy: 1e-12)
    }

    func testJSONHasKeysInOrderAndNullForInfinity() throws {
        let all = series()
        let report = try Backtest.run(series: all, horizon: 2, windows: 2, season: 2, minimumHistory: 2, forecast: constantFive(all))
        let json = report.json()
        XCTAssertTrue(json.hasSuffix("}\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["horizon"] as? Int, 2)
        XCTAssertEqual(object["levels"] as? [Double], [0.1, 0.5, 0.9])
        let overall = try XCTUnwrap(object["overall"] as? [String: Any])
        let model = try XCTUnwrap(overall["model"] as? [String: Any])
        XCTAssertTrue(model["mase"] is NSNull, "MASE +∞ is written null")
        XCTAssertEqual(model["mae"] as? Double, 2.25)
        let coverage = try XCTUnwrap(model["coverage"] as? [[String: Any]])
        XCTAssertEqual(coverage.first?["value"] as? Double, 0.25)
        let naive = try XCTUnwrap(overall["naive"] as? [String: Any])
        XCTAssertEqual((naive["coverage"] as? [Any])?.count, 0)
        let seriesList = try XCTUnwrap(object["series"] as? [[String: Any]])
        XCTAssertEqual(seriesList.map { $0["id"] as? String }, ["a", "b"])
        // Keys in the fixed order.
        func position(_ key: String) -> Int {
            json.range(of: "\"\(key)\"").map { json.distance(from: json.startIndex, to: $0.lowerBound) } ?? -1
        }
        let order = ["horizon", "windows", "stride", "season", "levels", "overall", "model", "mae", "rmse", "mase",
                     "smape", "crps", "coverage", "lower", "upper", "nominal", "value", "naive", "seasonal_naive", "series", "id"]
        let positions = order.map(position)
        XCTAssertFalse(positions.contains(-1))
        XCTAssertEqual(positions, positions.sorted(), "keys out of order: \(json)")
    }

    func testLevelsAreTheForecastsOwn() throws {
        let all = [series()[0]]
        func forecaster(_ levels: @escaping (Int) -> [Double]) -> (Int, Int) throws -> Forecast {
            { i, o in try Forecast(series: "a", times: [0, 1], mean: [5, 5], standardDeviation: [1, 1], levels: levels(o)) }
        }
        // 0.95 − 0.05 is 0.8999999999999999 in binary; the report says 0.9.
        let report = try Backtest.run(series: all, horizon: 2, windows: 2, season: 2, minimumHistory: 2,
                                      forecast: forecaster { _ in [0.05, 0.25, 0.5, 0.75, 0.95] })
        XCTAssertEqual(report.overall.model.coverage.map(\.nominal), [0.9, 0.5])
        XCTAssertTrue(report.json().contains("\"nominal\": 0.9,"), report.json())
        // Windows whose forecasts carry different levels cannot be pooled.
        XCTAssertThrowsError(try Backtest.run(series: all, horizon: 2, windows: 2, season: 2, minimumHistory: 2,
                                              forecast: forecaster { o in o == 4 ? [0.1, 0.9] : [0.2, 0.8] })) { error in
            XCTAssertTrue("\(error)".contains("0.1,0.9"), "\(error)")
        }
    }

    func testRunErrors() throws {
        let all = series()
        // Needs max(6, 2, 2) + 2 + 2 = 10 values; a has 8.
        XCTAssertThrowsError(try Backtest.run(series: all, horizon: 2, windows: 2, season: 2, minimumHistory: 6,
                                              forecast: constantFive(all))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'a'") && text.contains("at least 10 values (it has 8)"), text)
        }
        // A forecast of 3 steps for a horizon of 2.
        XCTAssertThrowsError(try Backtest.run(series: all, horizon: 2, windows: 1, season: 2, minimumHistory: 2,
                                              forecast: { i, o in try self.constantFive(all, horizon: 3)(i, o - 1) })) { error in
            guard case RecurrentError.shapeMismatch = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("2 steps"), "\(error)")
        }
        XCTAssertThrowsError(try Backtest.run(series: all, horizon: 2, windows: 1, season: 0, minimumHistory: 2,
                                              forecast: constantFive(all)))
    }

    func check(_ s: BacktestReport.Scores, mae: Double, rmse: Double, mase: Double, smape: Double, crps: Double,
               coverage: [Double], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(s.mae, mae, accuracy: 1e-12, "MAE", file: file, line: line)
        XCTAssertEqual(s.rmse, rmse, accuracy: 1e-12, "RMSE", file: file, line: line)
        if mase.isInfinite { XCTAssertEqual(s.mase, mase, "MASE", file: file, line: line) } else {
            XCTAssertEqual(s.mase, mase, accuracy: 1e-12, "MASE", file: file, line: line)
        }
        XCTAssertEqual(s.smape, smape, accuracy: 1e-9, "sMAPE", file: file, line: line)
        XCTAssertEqual(s.crps, crps, accuracy: 1e-12, "CRPS", file: file, line: line)
        XCTAssertEqual(s.coverage.map(\.value), coverage, "coverage", file: file, line: line)
    }
}
