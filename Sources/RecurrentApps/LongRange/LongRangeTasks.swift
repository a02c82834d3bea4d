import Foundation
import Recurrent

/// Synthetic tasks that need memory over long gaps: where the vanilla RNN fails and gated
/// cells succeed ("Vanilla vs LSTM").
package enum LongRangeTask: String, CaseIterable, Sendable {
    /// The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): each step
    /// is (value in [0, 1), marker); exactly two steps are marked, one in each half; the target
    /// is the sum of the two marked values, read from the last step; MSE.
    case adding
    /// Copy memory (Arjovsky, Shah & Bengio 2016): 10 symbols from 1–8, T − 1 blanks, a
    /// delimiter, 10 blanks; the model must output blanks and then the 10 symbols; cross-entropy
    /// over all T + 20 steps.
    case copy

    /// Steps per sequence for gap T.
    public func sequenceLength(_ t: Int) -> Int { self == .adding ? t : t + 20 }
    /// Input features per step: (value, marker), or one-hot over blank, 1–8, delimiter.
    public var inputFeatures: Int { self == .adding ? 2 : 10 }
    /// Outputs: the sum, or a class over blank and 1–8.
    public var outputs: Int { self == .adding ? 1 : 9 }

    /// The loss of the best memoryless predictor: always 1 for adding (MSE = Var = 1/6);
    /// blanks, then uniform over 8 symbols, for copy (10·ln 8 / (T + 20)).
    public func baseline(length t: Int) -> Double {
        self == .adding ? 1.0 / 6.0 : 10 * Foundation.log(8.0) / Double(t + 20)
    }

    /// The smallest gap T the task is defined for.
    public static let minimumLength = 2

    /// A batch of B sequences: features (B, L, F); targets (B) sums for adding, or
    /// (B·L) classes for copy.
    public func makeBatch(length t: Int, batch b: Int, rng: inout SeededGenerator) -> LongRangeBatch {
        let l = sequenceLength(t), f = inputFeatures
        var x = [Float](repeating: 0, count: b * l * f)
        switch self {
        case .adding:
            var y = [Float](repeating: 0, count: b)
            for r in 0..<b {
                for s in 0..<l { x[(r * l + s) * 2] = rng.nextUniform() }
                let half = l / 2
                let first = rng.nextInt(below: half), second = half + rng.nextInt(below: l - half)
                x[(r * l + first) * 2 + 1] = 1
                x[(r * l + second) * 2 + 1] = 1
                y[r] = x[(r * l + first) * 2] + x[(r * l + second) * 2]
            }
            return LongRangeBatch(features: x, sums: y, classes: [])
        case .copy:
            var y = [Int32](repeating: 0, count: b * l)
            for r in 0..<b {
                for s in 0..<l { x[(r * l + s) * f] = 1 }   // blank by default
                for s in 0..<10 {
                    let symbol = 1 + rng.nextInt(below: 8)
                    x[(r * l + s) * f] = 0
                    x[(r * l + s) * f + symbol] = 1
                    y[r * l + t + 10 + s] = Int32(symbol)
                }
                x[(r * l + t + 9) * f] = 0
                x[(r * l + t + 9) * f + 9] = 1          // the delimiter
            }
            return LongRangeBatch(features: x, sums: [], classes: y)
        }
    }
}

package struct LongRangeBatch: Sendable {
    /// (B, L, F).
    public let features: [Float]
    /// Adding: (B) targets.
    public let sums: [Float]
    /// Copy: (B·L) target classes.
    public let classes: [Int32]
}
