import Foundation
import XCTest
@testable import Recurrent

/// The forecast scores and baselines against values computed by hand, and the Gaussian CRPS
/// against numeric integration of its definition.
final class ForecastMetricsTests: XCTestCase {
    let actual: [Double] = [1, 2, 3, 4], forecast: [Double] = [2, 2, 2, 6]

    func testPointScoresByHand() throws {
        // Errors −1, 0, 1, −2.
        XCTAssertEqual(try ForecastMetrics.mae(actual: actual, forecast: forecast), 1, accuracy: 1e-12)
        XCTAssertEqual(try ForecastMetrics.rmse(actual: actual, forecast: forecast), 1.5.squareRoot(), accuracy: 1e-12)
        // sMAPE: 100/4 × (2/3 + 0 + 2/5 + 4/10).
        XCTAssertEqual(try ForecastMetrics.smape(actual: actual, forecast: forecast), 25 * (2.0 / 3 + 0.4 + 0.4), accuracy: 1e-12)
        // 0/0 counts 0; a zero actual against a non-zero forecast counts the maximum, 2.
        XCTAssertEqual(try ForecastMetrics.smape(actual: [0, 1], forecast: [0, 3]), 50, accuracy: 1e-12)
        XCTAssertEqual(try ForecastMetrics.smape(actual: [0], forecast: [5]), 200, accuracy: 1e-12)
        // MASE: history 1 3 2 5 4; naive scale (2+1+3+1)/4 = 1.75; season 2: (1+2+2)/3.
        let history: [Double] = [1, 3, 2, 5, 4]
        XCTAssertEqual(try ForecastMetrics.mase(actual: actual, forecast: forecast, history: history, season: 1), 1 / 1.75, accuracy: 1e-12)
        XCTAssertEqual(try ForecastMetrics.mase(actual: actual, forecast: forecast, history: history, season: 2), 0.6, accuracy: 1e-12)
        XCTAssertEqual(try ForecastMetrics.mase(actual: [1], forecast: [2], history: [3, 3, 3], season: 1), .infinity)
        XCTAssertEqual(try ForecastMetrics.mase(actual: [1], forecast: [1], history: [3, 3, 3], season: 1), 0)
        XCTAssertThrowsError(try ForecastMetrics.mase(actual: [1], forecast: [1], history: [1, 2], season: 2))
        XCTAssertThrowsError(try ForecastMetrics.mae(actual: [1, 2], forecast: [1]))
        XCTAssertThrowsError(try ForecastMetrics.mae(actual: [], forecast: []))
        // Coverage: 1 in [0, 2], 2 not in [2.5, 3], 3 in [3, 4] (ends included).
        XCTAssertEqual(try ForecastMetrics.coverage(actual: [1, 2, 3], lower: [0, 2.5, 3], upper: [2, 3, 4]), 2.0 / 3, accuracy: 1e-12)
    }

    func testQuantileCRPSByHand() throws {
        // y = 2.5: 0.1 × 1.5 + 0.5 × 0.5 + (1 − 0.9) × 0.5 = 0.45; × 2 / 3 = 0.3.
        XCTAssertEqual(try ForecastMetrics.crpsFromQuantiles([1, 2, 3], levels: [0.1, 0.5, 0.9], actual: 2.5), 0.3, accuracy: 1e-12)
        XCTAssertEqual(ForecastMetrics.pinball(quantile: 3, level: 0.9, actual: 2.5), 0.05, accuracy: 1e-12)
        XCTAssertThrowsError(try ForecastMetrics.crpsFromQuantiles([1], levels: [1], actual: 0))
        XCTAssertThrowsError(try ForecastMetrics.crpsFromQuantiles([1, 2], levels: [0.5], actual: 0))
        // Many evenly spread levels of a Gaussian's quantiles approach its closed-form CRPS.
        let levels = (1...999).map { Double($0) / 1000 }
        let quantiles = levels.map { 3 + 2 * Self.normalQuantile($0) }
        let approximate = try ForecastMetrics.crpsFromQuantiles(quantiles, levels: levels, actual: 4.2)
        XCTAssertEqual(approximate, try ForecastMetrics.crpsGaussian(mean: 3, standardDeviation: 2, actual: 4.2), accuracy: 5e-3)
    }

    func testGaussianCRPSMatchesNumericIntegration() throws {
        // At the mean with σ = 1: 2φ(0) − 1/√π.
        XCTAssertEqual(try ForecastMetrics.crpsGaussian(mean: 0, standardDeviation: 1, actual: 0),
                       2 / (2 * Double.pi).squareRoot() - 1 / Double.pi.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(try ForecastMetrics.crpsGaussian(mean: 1, standardDeviation: 0, actual: 4), 3)
        XCTAssertThrowsError(try ForecastMetrics.crpsGaussian(mean: 0, standardDeviation: -1, actual: 0))
        for (μ, σ, y) in [(0.0, 1.0, 0.0), (0, 1, 1.7), (10, 3, 2), (-2, 0.5, -2.3), (5, 2, 11)] {
            let closed = try ForecastMetrics.crpsGaussian(mean: μ, standardDeviation: σ, actual: y)
            // ∫ (F(x) − 1{x ≥ y})² dx by Simpson's rule on each side of y, over μ ± 12σ and y.
            func F(_ x: Double) -> Double { 0.5 * erfc(-(x - μ) / (σ * 2.0.squareRoot())) }
            func simpson(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> Double {
                let n = 20_000, h = (b - a) / Double(n)
                var sum = f(a) + f(b)
                for k in 1..<n { sum += (k % 2 == 1 ? 4 : 2) * f(a + Double(k) * h) }
                return sum * h / 3
            }
            let low = min(μ - 12 * σ, y), high = max(μ + 12 * σ, y)
            let numeric = simpson(low, y) { F($0) * F($0) } + simpson(y, high) { (1 - F($0)) * (1 - F($0)) }
            XCTAssertEqual(closed, numeric, accuracy: 1e-4, "μ \(μ) σ \(σ) y \(y)")
        }
    }

    func testBaselines() throws {
        let history: [Double] = [1, 2, 3, 4, 5, 6, 7]
        XCTAssertEqual(try Baselines.naive(history: history, horizon: 3), [7, 7, 7])
        XCTAssertEqual(try Baselines.seasonalNaive(history: history, horizon: 5, season: 3), [5, 6, 7, 5, 6])
        XCTAssertThrowsError(try Baselines.naive(history: [], horizon: 1))
        XCTAssertThrowsError(try Baselines.naive(history: [1], horizon: 0))
        XCTAssertThrowsError(try Baselines.seasonalNaive(history: [1, 2], horizon: 1, season: 3))
        // A pure weekly pattern: the seasonal naive forecast is exact, the naive one is not.
        let pattern: [Double] = [3, 1, 4, 1, 5, 9, 2]
        let series = (0..<42).map { pattern[$0 % 7] }
        let past = Array(series[..<28]), future = Array(series[28...])
        let seasonal = try Baselines.seasonalNaive(history: past, horizon: 14, season: 7)
        XCTAssertEqual(try ForecastMetrics.mae(actual: future, forecast: seasonal), 0)
        XCTAssertGreaterThan(try ForecastMetrics.mae(actual: future, forecast: Baselines.naive(history: past, horizon: 14)), 0)
    }

    func testSeasonFromTheStep() {
        let hour = 3_600.0, day = 86_400.0
        XCTAssertEqual(Baselines.season(dateStep: hour), 24)
        XCTAssertEqual(Baselines.season(dateStep: day), 7)
        XCTAssertEqual(Baselines.season(dateStep: 7 * day), 52)
        XCTAssertEqual(Baselines.season(dateStep: 30.436875 * day), 12)
        XCTAssertEqual(Baselines.season(dateStep: 91 * day), 4)
        XCTAssertEqual(Baselines.season(dateStep: 60), 60)
        XCTAssertEqual(Baselines.season(dateStep: 1_800), 48)
        XCTAssertEqual(Baselines.season(dateStep: 365 * day), 1)
        XCTAssertEqual(Baselines.season(dateStep: 3 * day), 1)
    }

    /// Φ⁻¹(p) by bisection on erfc (tests only).
    static func normalQuantile(_ p: Double) -> Double {
        var low = -10.0, high = 10.0
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
