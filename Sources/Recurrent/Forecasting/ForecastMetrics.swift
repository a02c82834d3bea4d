import Foundation

/// Point, interval and probabilistic scores of a forecast against what happened, over the steps
/// h = 1…H of one forecast window: actual yₕ, forecast ŷₕ. Each function takes arrays of equal,
/// non-zero length and throws `RecurrentError.shapeMismatch` otherwise.
public enum ForecastMetrics {
    /// Mean absolute error, (1/H) Σ |yₕ − ŷₕ|.
    public static func mae(actual: [Double], forecast: [Double]) throws -> Double {
        try check(actual, forecast, "mae")
        return zip(actual, forecast).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(actual.count)
    }

    /// Root mean squared error, √((1/H) Σ (yₕ − ŷₕ)²).
    public static func rmse(actual: [Double], forecast: [Double]) throws -> Double {
        try check(actual, forecast, "rmse")
        return (zip(actual, forecast).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(actual.count)).squareRoot()
    }

    /// The in-sample mean absolute error of the seasonal naive forecast on `history` (y₁…y_T),
    /// (1/(T − m)) Σₜ₌ₘ₊₁ᵀ |yₜ − yₜ₋ₘ|: the scale of MASE.
    /// - Throws: `RecurrentError.invalidArgument` when m < 1 or the history has no more than m values.
    public static func seasonalNaiveScale(history: [Double], season m: Int) throws -> Double {
        try require(m >= 1, .invalidArgument(name: "season", value: "\(m)", expected: "a whole number ≥ 1"))
        try require(history.count > m, .invalidArgument(name: "history length", value: "\(history.count)",
                                                         expected: "more than the season \(m) to scale MASE"))
        var sum = 0.0
        for t in m..<history.count { sum += abs(history[t] - history[t - m]) }
        return sum / Double(history.count - m)
    }

    /// Mean absolute scaled error (Hyndman & Koehler 2006): MAE / the in-sample MAE of the
    /// seasonal naive forecast with season m on `history` (m = 1: the naive forecast). Below 1
    /// the forecast beats the in-sample seasonal naive. A history with scale 0 (constant, or
    /// exactly periodic) gives +∞ for a non-zero error and 0 for a zero one (0/0 defined as 0).
    public static func mase(actual: [Double], forecast: [Double], history: [Double], season m: Int) throws -> Double {
        let error = try mae(actual: actual, forecast: forecast)
        let scale = try seasonalNaiveScale(history: history, season: m)
        if scale == 0 { return error == 0 ? 0 : .infinity }
        return error / scale
    }

    /// Symmetric mean absolute percentage error in percent, the 0–200 form:
    /// (100/H) Σ 2|yₕ − ŷₕ| / (|yₕ| + |ŷₕ|). A step with yₕ = ŷₕ = 0 (0/0) counts 0: a perfect
    /// forecast of zero is not an error.
    public static func smape(actual: [Double], forecast: [Double]) throws -> Double {
        try check(actual, forecast, "smape")
        var sum = 0.0
        for (y, f) in zip(actual, forecast) {
            let denominator = abs(y) + abs(f)
            if denominator > 0 { sum += 2 * abs(y - f) / denominator }
        }
        return 100 * sum / Double(actual.count)
    }

    /// The fraction of steps whose actual lies in its interval, lowerₕ ≤ yₕ ≤ upperₕ (ends
    /// included); for a nominal 80% interval a calibrated forecast gives about 0.8.
    public static func coverage(actual: [Double], lower: [Double], upper: [Double]) throws -> Double {
        try check(actual, lower, "coverage")
        try check(actual, upper, "coverage")
        var inside = 0
        for h in actual.indices where lower[h] <= actual[h] && actual[h] <= upper[h] { inside += 1 }
        return Double(inside) / Double(actual.count)
    }

    /// The continuous ranked probability score of a Gaussian predictive distribution N(μ, σ²) at
    /// the outcome y, in closed form (Gneiting & Raftery 2007):
    /// CRPS = σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ, where
    /// CRPS(F, y) = ∫ (F(x) − 1{x ≥ y})² dx. σ = 0 gives |y − μ| (a point forecast's CRPS is its absolute error).
    /// - Throws: `RecurrentError.invalidArgument` for σ < 0.
    public static func crpsGaussian(mean μ: Double, standardDeviation σ: Double, actual y: Double) throws -> Double {
        try require(σ >= 0 && σ.isFinite, .invalidArgument(name: "standard deviation", value: "\(σ)", expected: "a finite number ≥ 0"))
        if σ == 0 { return abs(y - μ) }
        let z = (y - μ) / σ
        let cdf = 0.5 * erfc(-z / 2.0.squareRoot())
        let pdf = exp(-z * z / 2) / (2 * Double.pi).squareRoot()
        return σ * (z * (2 * cdf - 1) + 2 * pdf - 1 / Double.pi.squareRoot())
    }

    /// The pinball (quantile) loss of the quantile forecast q at level τ for the outcome y:
    /// τ (y − q) when y ≥ q, else (1 − τ)(q − y).
    public static func pinball(quantile q: Double, level τ: Double, actual y: Double) -> Double {
        y >= q ? τ * (y - q) : (1 - τ) * (q - y)
    }

    /// CRPS approximated from quantile forecasts: 2 × the mean over the levels τₖ of the pinball
    /// loss of the quantile qₖ, (2/K) Σₖ ρ_τₖ(y − qₖ). It tends to the CRPS as the levels fill
    /// (0, 1) evenly (CRPS = 2 ∫₀¹ ρ_τ(y − F⁻¹(τ)) dτ).
    /// - Throws: `RecurrentError.shapeMismatch` when the counts differ or are 0;
    ///   `RecurrentError.invalidArgument` for a level outside (0, 1).
    public static func crpsFromQuantiles(_ quantiles: [Double], levels: [Double], actual y: Double) throws -> Double {
        try check(quantiles, levels, "crpsFromQuantiles")
        for τ in levels {
            try require(τ > 0 && τ < 1, .invalidArgument(name: "quantile level", value: "\(τ)", expected: "a number in (0, 1)"))
        }
        return 2 * zip(quantiles, levels).reduce(0) { $0 + pinball(quantile: $1.0, level: $1.1, actual: y) } / Double(levels.count)
    }

    private static func check(_ a: [Double], _ b: [Double], _ operation: String) throws {
        try require(!a.isEmpty && a.count == b.count,
                    .shapeMismatch(operation: operation, expected: "(\(a.count)), non-empty", found: "(\(b.count))"))
    }
}
