import Foundation
import Recurrent

/// A probabilistic forecast of one series for the steps h = 1…H after a forecast origin: a
/// Gaussian predictive distribution N(μₕ, σₕ²) at each step, and its quantiles at the requested
/// levels, qₜ,ₕ = μₕ + σₕ Φ⁻¹(τ). Quantiles at increasing levels never decrease (σ ≥ 0).
public struct Forecast: Sendable, Equatable {
    /// The series' id ("" for a table without a series column).
    public var series: String
    /// The H future times, in the time column's units (seconds since the epoch for dates).
    public var times: [Double]
    /// The predictive mean μₕ at each step (H).
    public var mean: [Double]
    /// The predictive standard deviation σₕ ≥ 0 at each step (H).
    public var standardDeviation: [Double]
    /// Quantile levels τ, strictly increasing, each in (0, 1).
    public var levels: [Double]
    /// `quantiles[k][h]`: the quantile at `levels[k]` for step h + 1 (levels.count × H).
    public var quantiles: [[Double]]

    /// A Gaussian forecast with its quantiles at `levels`.
    /// - Throws: `RecurrentError.shapeMismatch` when `times`, `mean` and `standardDeviation`
    ///   differ in length; `RecurrentError.invalidArgument` for a negative or non-finite σ, a
    ///   non-finite mean, or levels that `checkLevels` refuses.
    public init(series: String, times: [Double], mean: [Double], standardDeviation: [Double], levels: [Double]) throws {
        guard times.count == mean.count, mean.count == standardDeviation.count else {
            throw RecurrentError.shapeMismatch(operation: "forecast", expected: "as many means and standard deviations as times (\(times.count))",
                                               found: "\(mean.count) means, \(standardDeviation.count) standard deviations")
        }
        try Forecast.checkLevels(levels)
        if let j = mean.firstIndex(where: { !$0.isFinite }) {
            throw RecurrentError.invalidArgument(name: "forecast mean", value: "\(mean[j]) at step \(j + 1)", expected: "a finite number")
        }
        if let j = standardDeviation.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw RecurrentError.invalidArgument(name: "forecast standard deviation", value: "\(standardDeviation[j]) at step \(j + 1)",
                                                 expected: "a finite number >= 0")
        }
        self.series = series
        self.times = times
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.levels = levels
        quantiles = levels.map { τ in
            let z = NormalDistribution.quantile(τ)
            return zip(mean, standardDeviation).map { μ, σ in μ + σ * z }
        }
    }

    /// Steps in the forecast (H).
    public var horizon: Int { mean.count }

    /// The quantile at `level` (one of `levels`), or `nil`.
    public func quantile(_ level: Double) -> [Double]? {
        levels.firstIndex(of: level).map { quantiles[$0] }
    }

    /// The central intervals the levels hold: each pair (τ, 1 − τ) with τ < 0.5, outermost
    /// first, as (lower level, upper level, nominal coverage 1 − 2τ). Levels 0.1, 0.5, 0.9 give
    /// one interval, 80%.
    public var centralIntervals: [(lower: Double, upper: Double, nominal: Double)] {
        levels.filter { $0 < 0.5 }.compactMap { τ in
            // Compared after rounding: 1 − 0.1 is 0.9 only to within a bit.
            let partner = levels.first { abs($0 - (1 - τ)) < 1e-12 }
            return partner.map { (τ, $0, $0 - τ) }
        }
    }

    /// Checks quantile levels: at least one, each in (0, 1), strictly increasing.
    /// - Throws: `RecurrentError.invalidArgument` naming `quantiles`.
    public static func checkLevels(_ levels: [Double]) throws {
        let ok = !levels.isEmpty && levels.allSatisfy { $0 > 0 && $0 < 1 } && zip(levels, levels.dropFirst()).allSatisfy { $0 < $1 }
        try require(ok, .invalidArgument(name: "quantiles", value: levels.map { "\($0)" }.joined(separator: ","),
                                         expected: "levels in (0, 1), strictly increasing, such as 0.1,0.5,0.9"))
    }
}

/// The standard normal distribution's CDF Φ and its inverse.
public enum NormalDistribution {
    /// Φ(z) = ½ erfc(−z/√2).
    public static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error below 1.2e-9),
    /// then one Halley step on Φ(z) − p, which brings it to about the precision of `erfc`.
    /// p ≤ 0 gives −∞ and p ≥ 1 gives +∞.
    public static func quantile(_ p: Double) -> Double {
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var z: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            z = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            z = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // Halley's step: e = Φ(z) − p, u = e·√(2π)·exp(z²/2), z ← z − u / (1 + z·u/2).
        let e = cdf(z) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(z * z / 2)
        z -= u / (1 + z * u / 2)
        return z
    }
}

extension TimeSeriesTable.Series {
    /// The `count` times after the series' last, one step apart: calendar months for a monthly
    /// or coarser date series (`monthStep`; the day of the month kept, clamped to the month's
    /// length), else `step` added.
    /// - Throws: `RecurrentError.invalidArgument` for a series of one row (it has no step).
    public func futureTimes(_ count: Int, timeKind: TimeSeriesTable.TimeKind) throws -> [Double] {
        guard let last = times.last, let step else {
            throw RecurrentError.invalidArgument(name: "series", value: id.isEmpty ? "the series" : "'\(id)'",
                                                 expected: "at least two rows, so that it has a step")
        }
        if timeKind == .date, let months = monthStep {
            let days = Int((last / 86_400).rounded(.down))
            let secondsOfDay = last - Double(days) * 86_400
            let (year, month, day) = ISODate.civil(fromDays: days)
            return (1...max(count, 1)).prefix(count).map { k in
                let total = (year * 12 + month - 1) + k * months
                let (y, m) = (total / 12, total % 12 + 1)
                let lastDay = ISODate.daysFromCivil(year: m == 12 ? y + 1 : y, month: m == 12 ? 1 : m + 1, day: 1)
                    - ISODate.daysFromCivil(year: y, month: m, day: 1)
                return Double(ISODate.daysFromCivil(year: y, month: m, day: min(day, lastDay))) * 86_400 + secondsOfDay
            }
        }
        return (0..<count).map { last + Double($0 + 1) * step }
    }
}
