import Foundation
import XCTest
import Recurrent
@testable import RecurrentApps

/// The forecast type's Gaussian quantiles against tabulated values of Φ⁻¹, its checks, and the
/// future times of daily and monthly series.
final class ForecastTests: XCTestCase {
    func testNormalQuantileAgainstTables() {
        // Φ⁻¹ to 16 digits (standard tables; 0.975 → 1.959963984540054).
        let table: [(Double, Double)] = [(0.5, 0), (0.9, 1.2815515655446004), (0.975, 1.959963984540054),
                                         (0.995, 2.5758293035489004), (0.01, -2.3263478740408408),
                                         (1e-6, -4.753424308822899), (0.3, -0.5244005127080407)]
        for (p, z) in table {
            XCTAssertEqual(NormalDistribution.quantile(p), z, accuracy: 1e-12, "Φ⁻¹(\(p))")
            XCTAssertEqual(NormalDistribution.cdf(NormalDistribution.quantile(p)), p, accuracy: 1e-14 + 1e-12 * p)
        }
        XCTAssertEqual(NormalDistribution.quantile(0), -.infinity)
        XCTAssertEqual(NormalDistribution.quantile(1), .infinity)
        // Symmetric, and increasing on a fine grid across the branch points 0.02425 and 0.97575.
        var previous = -Double.infinity
        for i in 1..<10_000 {
            let p = Double(i) / 10_000
            let z = NormalDistribution.quantile(p)
            XCTAssertGreaterThan(z, previous)
            XCTAssertEqual(z, -NormalDistribution.quantile(1 - p), accuracy: 1e-12)
            previous = z
        }
    }

    func testQuantilesAreMonotoneAndIntervalsPair() throws {
        let f = try Forecast(series: "a", times: [1, 2, 3], mean: [10, -5, 0], standardDeviation: [2, 0, 1e-3],
                             levels: [0.05, 0.1, 0.5, 0.9, 0.95])
        for h in 0..<3 {
            for k in 1..<5 { XCTAssertLessThanOrEqual(f.quantiles[k - 1][h], f.quantiles[k][h]) }
            XCTAssertEqual(f.quantile(0.5)![h], f.mean[h])
        }
        XCTAssertEqual(f.quantile(0.9)![0], 10 + 2 * 1.2815515655446004, accuracy: 1e-12)
        XCTAssertEqual(f.quantile(0.1)![1], -5)   // σ = 0: every quantile is the mean
        XCTAssertNil(f.quantile(0.2))
        XCTAssertEqual(f.centralIntervals.map(\.lower), [0.05, 0.1])
        XCTAssertEqual(f.centralIntervals.map(\.upper), [0.95, 0.9])
        XCTAssertEqual(f.centralIntervals[1].nominal, 0.8, accuracy: 1e-12)
    }

    func testBadForecastsAreRefused() {
        XCTAssertThrowsError(try Forecast(series: "", times: [1], mean: [1, 2], standardDeviation: [1, 1], levels: [0.5]))
        XCTAssertThrowsError(try Forecast(series: "", times: [1], mean: [1], standardDeviation: [-1], levels: [0.5]))
        XCTAssertThrowsError(try Forecast(series: "", times: [1], mean: [.nan], standardDeviation: [1], levels: [0.5]))
        for levels in [[], [0.5, 0.5], [0.9, 0.1], [0, 0.5], [0.5, 1]] as [[Double]] {
            XCTAssertThrowsError(try Forecast.checkLevels(levels), "\(levels)")
        }
    }

    func testFutureTimes() throws {
        let day = 86_400.0
        let csv = "date,v\n2024-01-29,1\n2024-01-30,2\n2024-01-31,3\n"
        let daily = try TimeSeriesTable(CSVTable(text: csv), time: "date", target: "v")
        XCTAssertEqual(try daily.series[0].futureTimes(2, timeKind: .date),
                       [Double(ISODate.daysFromCivil(year: 2024, month: 2, day: 1)) * day,
                        Double(ISODate.daysFromCivil(year: 2024, month: 2, day: 2)) * day])
        // Monthly on the 31st: February clamps to its last day (2024 is a leap year), March goes back to 31.
        let monthly = try TimeSeriesTable(CSVTable(text: "date,v\n2023-11-30,1\n2023-12-31,2\n2024-01-31,3\n"),
                                          time: "date", target: "v")
        XCTAssertEqual(monthly.series[0].monthStep, 1)
        let next = try monthly.series[0].futureTimes(3, timeKind: .date).map { ISODate.dateString(days: Int($0 / day)) }
        XCTAssertEqual(next, ["2024-02-29", "2024-03-31", "2024-04-30"])
        let numbers = try TimeSeriesTable(CSVTable(text: "t,v\n0,1\n5,2\n10,3\n"), time: "t", target: "v")
        XCTAssertEqual(try numbers.series[0].futureTimes(2, timeKind: .number), [15, 20])
        let single = try TimeSeriesTable(CSVTable(text: "t,v\n0,1\n"), time: "t", target: "v")
        XCTAssertThrowsError(try single.series[0].futureTimes(1, timeKind: .number))
    }
}
