import Foundation
import Recurrent

/// The numbers behind looking inside a recurrent network (Karpathy, Johnson & Fei-Fei 2015,
/// "Visualizing and Understanding Recurrent Networks"): how often each gate unit is saturated,
/// and which hidden units follow a simple feature of the text. Series are per unit over T steps,
/// read from row-major (T, W) values: unit j at step t is `values[t·stride + offset + j]`.
public enum UnitStatistics {
    /// A gate below this is left-saturated (nearly closed), as in the 2015 paper.
    public static let leftSaturation: Float = 0.1
    /// A gate above this is right-saturated (nearly open).
    public static let rightSaturation: Float = 0.9

    /// Per unit, the fraction of steps at which a σ gate is left-saturated (< 0.1) and
    /// right-saturated (> 0.9): the 2015 paper's scatter, one point per unit.
    /// - Parameters:
    ///   - values: T rows `stride` apart, the gate's `width` units starting at `offset` in each.
    /// - Returns: two arrays of `width` fractions in [0, 1] (zeros when T is 0).
    public static func saturation(_ values: [Float], steps: Int, stride: Int, offset: Int = 0,
                                  width: Int) -> (left: [Double], right: [Double]) {
        var left = [Int](repeating: 0, count: width), right = left
        for t in 0..<steps {
            for j in 0..<width {
                let v = values[t * stride + offset + j]
                if v < leftSaturation { left[j] += 1 } else if v > rightSaturation { right[j] += 1 }
            }
        }
        let n = Double(max(steps, 1))
        return (left.map { Double($0) / n }, right.map { Double($0) / n })
    }

    /// Pearson's correlation of x and y (equal lengths), in Double; nil when either is constant
    /// (or shorter than 2), where it is undefined.
    public static func correlation(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "series of equal lengths")
        let n = Double(x.count)
        guard x.count >= 2 else { return nil }
        let (mx, my) = (x.reduce(0, +) / n, y.reduce(0, +) / n)
        var (sxy, sxx, syy) = (0.0, 0.0, 0.0)
        for i in x.indices {
            let (dx, dy) = (x[i] - mx, y[i] - my)
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// The lag-1 autocorrelation of x: the correlation of x_t with x_{t+1}, high for a unit that
    /// changes slowly (a memory), near 0 or negative for one that flickers; nil for fewer than
    /// 3 values or a constant series.
    public static func autocorrelation(_ x: [Double]) -> Double? {
        guard x.count >= 3 else { return nil }
        return correlation(Array(x.dropLast()), Array(x.dropFirst()))
    }

    /// The series of unit `unit` over T steps.
    public static func series(_ values: [Float], steps: Int, stride: Int, unit: Int) -> [Double] {
        (0..<steps).map { Double(values[$0 * stride + unit]) }
    }

    /// A unit and its score.
    public struct RankedUnit: Sendable, Equatable {
        public let unit: Int
        public let value: Double
    }

    /// The `top` units with the largest |score| (ties by unit), undefined scores left out.
    public static func rank(_ scores: [Double?], top: Int) -> [RankedUnit] {
        let defined = scores.enumerated().compactMap { j, s in s.map { RankedUnit(unit: j, value: $0) } }
        let sorted = defined.sorted { abs($0.value) > abs($1.value) || (abs($0.value) == abs($1.value) && $0.unit < $1.unit) }
        return Array(sorted.prefix(top))
    }
}

/// Simple features of a text, one value per character, for finding the hidden units that
/// track them (2015 paper: a cell that counts the line length, one that is on inside quotes).
/// Each describes the text as read up to and including that character.
public enum TextFeature: String, Sendable, CaseIterable {
    /// Characters since the last newline before this one: 0 for a line's first character; a
    /// newline ends its line, so it takes the line's length.
    case positionInLine = "position_in_line"
    /// 1 from an opening double quote (") through the character before its closing one, else 0:
    /// each " toggles it, so an opening quote is inside and a closing quote outside.
    case insideQuotes = "inside_quotes"
    /// 1 while more ( [ { have been read than ) ] }, else 0 (the opening bracket is inside, the
    /// closing one that balances it outside).
    case insideBrackets = "inside_brackets"

    /// The feature's value at each of `characters`.
    public func values(_ characters: [Unicode.Scalar]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(characters.count)
        var (position, quoted, depth) = (0, false, 0)
        for c in characters {
            switch self {
            case .positionInLine:
                out.append(Double(position))
                position = c == "\n" ? 0 : position + 1
            case .insideQuotes:
                if c == "\"" { quoted.toggle() }
                out.append(quoted ? 1 : 0)
            case .insideBrackets:
                if "([{".unicodeScalars.contains(c) { depth += 1 }
                if ")]}".unicodeScalars.contains(c) { depth = max(0, depth - 1) }
                out.append(depth > 0 ? 1 : 0)
            }
        }
        return out
    }
}
