import Foundation
import Recurrent

/// Daily time series with a known generating process, as a long-format CSV (`date,series,value,day_of_week`),
/// for forecasting: series s at step t = 0…L−1 (dates from 2020-01-01) is
///
///     yₛ(t) = levelₛ + trendₛ·t + Σₚ aₛ,ₚ sin(2π t/p + φₛ,ₚ) + σ εₜ,   εₜ ~ N(0, 1)
///
/// with the periods p given (weekly 7 and yearly 365.25 by default). Per series, drawn from the
/// seed: level ∈ [50, 150), trend ∈ [−0.05, 0.05) per step, amplitude aₛ,ₚ ∈ [2, 10), phase
/// φₛ,ₚ ∈ [0, 2π). `day_of_week` (0 Monday … 6 Sunday) is a covariate known in advance.
public struct SyntheticSeries: Sendable {
    /// Series in the file (ids "s1", "s2", …).
    public var count: Int
    /// Steps (days) per series.
    public var length: Int
    /// Standard deviation σ of the Gaussian noise.
    public var noise: Double
    /// Seasonal periods in steps.
    public var periods: [Double]

    /// A generator of `count` series of `length` daily steps.
    public init(count: Int = 3, length: Int = 730, noise: Double = 1, periods: [Double] = [7, 365.25]) {
        self.count = count
        self.length = length
        self.noise = noise
        self.periods = periods
    }

    /// The CSV text, header first, each line ending in "\n"; the same bytes for the same seed.
    public func csv(seed: UInt64) -> String {
        var rng = SeededGenerator(seed: seed)
        let start = ISODate.daysFromCivil(year: 2020, month: 1, day: 1)
        var out = "date,series,value,day_of_week\n"
        out.reserveCapacity(count * length * 32)
        for s in 1...count {
            let level = 50 + 100 * rng.nextDouble()
            let trend = 0.1 * rng.nextDouble() - 0.05
            let seasons = periods.map { (period: $0, amplitude: 2 + 8 * rng.nextDouble(), phase: 2 * Double.pi * rng.nextDouble()) }
            for t in 0..<length {
                var y = level + trend * Double(t)
                for p in seasons { y += p.amplitude * sin(2 * Double.pi * Double(t) / p.period + p.phase) }
                y += noise * Double(rng.nextNormal())
                let day = start + t
                // 1970-01-01 was a Thursday (3 with Monday = 0).
                let weekday = ((day + 3) % 7 + 7) % 7
                out += "\(ISODate.dateString(days: day)),s\(s),\(Self.format(y)),\(weekday)\n"
            }
        }
        return out
    }

    /// `x` with 4 decimals, without Foundation's locale-dependent formatting.
    static func format(_ x: Double) -> String {
        let scaled = (x * 10_000).rounded()
        // Past 2⁵³ the digits are not exact anyway (and Int would overflow): Swift's shortest form.
        guard abs(scaled) < 9e15 else { return "\(x)" }
        let negative = scaled < 0
        let magnitude = Int(abs(scaled))
        let fraction = String(magnitude % 10_000)
        return (negative && magnitude != 0 ? "-" : "") + "\(magnitude / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }
}
