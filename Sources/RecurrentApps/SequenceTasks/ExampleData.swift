import Foundation
import Recurrent

/// Generators of JSONL datasets for each sequence shape, so every example runs with no download.
public enum ExampleData: String, CaseIterable, Sendable {
    /// seq2seq, as Keras's addition_rnn: "535+61" → "596", operands of 1 to 3 digits.
    case addition
    /// tag: the roommate's weather sequence → dishes (the foundation's rule).
    case roommate
    /// caption (one to many): tiny 8×8 RGB images of a shape in a colour and a corner → "red square top left".
    case captions

    /// The task each dataset is for, and the tokenisation it expects.
    public var task: SequenceTaskKind { [.addition: .seq2seq, .roommate: .tag, .captions: .caption][self]! }
    public var tokenization: Tokenization { self == .addition ? .char : .word }
    public var defaultCount: Int { self == .addition ? 50_000 : 2_000 }

    /// `count` JSON lines, the same for the same seed.
    public func lines(count: Int, seed: UInt64) -> [String] {
        var rng = SeededGenerator(seed: seed)
        switch self {
        case .addition: return Self.addition(count: count, rng: &rng)
        case .roommate: return (0..<count).map { Self.roommateWeek($0, rng: &rng) }
        case .captions: return (0..<count).map { Self.caption($0, rng: &rng) }
        }
    }

    /// Distinct questions (a+b and b+a count once, as in Keras's example) while they last.
    static func addition(count: Int, rng: inout SeededGenerator) -> [String] {
        func operand() -> Int {
            let digits = 1 + rng.nextInt(below: 3)
            return (0..<digits).reduce(0) { v, _ in v * 10 + rng.nextInt(below: 10) }
        }
        var seen = Set<[Int]>()
        var lines: [String] = []
        var attempts = 0
        while lines.count < count && attempts < 50 * count {
            attempts += 1
            let a = operand(), b = operand()
            guard seen.insert([min(a, b), max(a, b)]).inserted else { continue }
            lines.append(JSONText.object([("id", JSONText.string("\(lines.count)")), ("input", JSONText.string("\(a)+\(b)")),
                                          ("target", JSONText.string("\(a + b)"))]))
        }
        return lines
    }

    /// A start dish, then 3–10 weather days; targets: the start dish, then the rule's dishes.
    static func roommateWeek(_ i: Int, rng: inout SeededGenerator) -> String {
        let start = Dish(rawValue: rng.nextInt(below: 3))!
        let weather = Roommate.randomWeather(days: 3 + rng.nextInt(below: 8), rng: &rng)
        let dishes = [start] + Roommate.schedule(start: start, weather: weather)
        let input = ([start.description] + weather.map(\.description)).joined(separator: " ")
        return JSONText.object([("id", JSONText.string("\(i)")), ("input", JSONText.string(input)),
                                ("target", JSONText.array(dishes.map { JSONText.string($0.description) }))])
    }

    static let colours = ["red", "green", "blue"]
    static let shapes = ["square", "cross", "bar"]
    static let corners = [("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right")]

    /// An 8×8 image in 3 channels (192 numbers, channel-major): a 4×4 shape drawn in one channel
    /// in one corner, plus a little noise.
    static func caption(_ i: Int, rng: inout SeededGenerator) -> String {
        let colour = rng.nextInt(below: 3), shape = rng.nextInt(below: 3), corner = rng.nextInt(below: 4)
        var pixels = (0..<192).map { _ in 0.1 * rng.nextUniform() }
        let (top, left) = (corner / 2 * 4, corner % 2 * 4)
        for y in 0..<4 {
            for x in 0..<4 {
                let on: Bool
                switch shape {
                case 0: on = true                       // square: the whole block
                case 1: on = x == 1 || x == 2 || y == 1 || y == 2   // cross: the middle rows and columns
                default: on = y == 1 || y == 2          // bar: the two middle rows
                }
                if on { pixels[colour * 64 + (top + y) * 8 + left + x] = 1 }
            }
        }
        let words = "\(colours[colour]) \(shapes[shape]) \(corners[corner].0) \(corners[corner].1)"
        return JSONText.object([("id", JSONText.string("\(i)")),
                                ("input", JSONText.array(pixels.map { String(format: "%.3f", $0) })),
                                ("target", JSONText.string(words))])
    }
}
