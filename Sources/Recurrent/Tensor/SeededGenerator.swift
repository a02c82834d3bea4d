/// A seeded pseudo-random generator that produces the same numbers on every platform.
///
/// Algorithm: xoshiro256** (Blackman & Vigna, 2018) over a 256-bit state that SplitMix64
/// expands from the 64-bit seed. Derived draws use only IEEE-754 operations that every
/// platform rounds identically (no libm), so they are reproducible too:
/// - `nextUniform()`: the top 24 bits of the next output times 2⁻²⁴, in [0, 1);
/// - `nextNormal()`: Marsaglia's polar method in Double with a portable logarithm,
///   rounded to Float once.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The four state words; exposed so training checkpoints can save and restore them.
    public var state: (UInt64, UInt64, UInt64, UInt64)
    /// A spare normal draw from the polar method (it produces two at a time).
    public var spareNormal: Double?

    /// The generator seeded by SplitMix64 from `seed`: the same seed, the same numbers, everywhere.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
        spareNormal = nil
    }

    /// Equal states draw equal numbers.
    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.state == b.state && a.spareNormal == b.spareNormal
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Inverted dropout of `n` values: `mask[i]` is 0 where the i-th draw of `nextUniform()` is
    /// below `rate` and `scale` elsewhere, and `output[i] = input[i] · mask[i]`. The same draws in
    /// the same order as `n` calls of `nextUniform()` (so the same masks and the same state after),
    /// without a branch on the draw: a draw's 24 bits k give k·2⁻²⁴ < rate exactly when
    /// k < ⌈rate·2²⁴⌉ (rate·2²⁴ is exact), and that sign selects `scale`'s bits or zero's.
    public mutating func dropoutMask(count n: Int, rate: Float, scale: Float, input: UnsafePointer<Float>,
                                     mask: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in 0..<1")
        let threshold = Int32((rate * 16_777_216).rounded(.up)), scaleBits = scale.bitPattern
        for i in 0..<n {
            let dropped = (Int32(truncatingIfNeeded: next() >> 40) &- threshold) >> 31   // −1 below the rate, else 0
            let keep = Float(bitPattern: scaleBits & ~UInt32(bitPattern: dropped))
            mask[i] = keep
            output[i] = input[i] * keep
        }
    }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUniform()
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// An integer uniform in 0..<bound (Lemire's nearly-divisionless method, unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
    }

    /// A standard normal draw (mean 0, standard deviation 1).
    public mutating func nextNormal() -> Float {
        if let spare = spareNormal {
            spareNormal = nil
            return Float(spare)
        }
        while true {
            let u = 2 * nextDouble() - 1
            let v = 2 * nextDouble() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * portableLog(s) / s).squareRoot()
                spareNormal = v * factor
                return Float(u * factor)
            }
        }
    }
}

/// Natural logarithm of a positive, finite Double from + − × ÷ only, so it rounds the same
/// on every platform. Reduces x = m·2ᵉ with m in [√½, √2), then
/// log m = 2·atanh(s), s = (m−1)/(m+1), |s| < 0.172, by its odd series (error < 1e-16).
func portableLog(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite)
    var m = x.significand          // [1, 2)
    var e = Double(x.exponent)
    if m > 1.4142135623730951 { m *= 0.5; e += 1 }
    let s = (m - 1) / (m + 1)
    let s2 = s * s
    var term = s
    var sum = 0.0
    var k = 1.0
    while k < 40 {
        sum += term / k
        term *= s2
        k += 2
    }
    return 2 * sum + e * 0.6931471805599453
}
