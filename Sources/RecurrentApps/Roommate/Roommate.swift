import Foundation
import Recurrent

/// The lecture's "perfect roommate": a dish a day in the cycle pasta → burger → salad → pasta;
/// on a sunny day the same dish as yesterday, on a rainy day the next one.
package enum Dish: Int, CaseIterable, Sendable, CustomStringConvertible {
    case pasta = 0, burger = 1, salad = 2

    public var description: String { ["pasta", "burger", "salad"][rawValue] }
    /// The next dish in the cycle.
    public var next: Dish { Dish(rawValue: (rawValue + 1) % 3)! }
    /// pasta [1,0,0], burger [0,1,0], salad [0,0,1].
    public var oneHot: [Float] { OneHot.vector(rawValue, classes: 3) }

    /// Parses a dish name.
    /// - Throws: `RecurrentError.invalidArgument` naming the accepted dishes.
    public init(parsing name: String) throws {
        guard let d = Dish.allCases.first(where: { $0.description == name.lowercased() }) else {
            throw RecurrentError.invalidArgument(name: "dish", value: name, expected: "one of pasta, burger, salad")
        }
        self = d
    }
}

package enum Weather: Int, CaseIterable, Sendable, CustomStringConvertible {
    case sunny = 0, rainy = 1

    public var description: String { ["sunny", "rainy"][rawValue] }
    /// sunny [1,0], rainy [0,1].
    public var oneHot: [Float] { OneHot.vector(rawValue, classes: 2) }

    /// Parses a weather name.
    /// - Throws: `RecurrentError.invalidArgument` naming the accepted values.
    public init(parsing name: String) throws {
        guard let w = Weather.allCases.first(where: { $0.description == name.lowercased() }) else {
            throw RecurrentError.invalidArgument(name: "weather", value: name, expected: "one of sunny, rainy")
        }
        self = w
    }
}

/// The rule, and the three hand-wired networks of the lecture.
package enum Roommate {
    /// The most days one schedule may have.
    public static let maximumDays = 10_000

    /// Today's dish by the rule.
    public static func rule(yesterday: Dish, weather: Weather) -> Dish {
        weather == .sunny ? yesterday : yesterday.next
    }

    /// The schedule by the rule: one dish per weather day, starting from the dish cooked the day before.
    public static func schedule(start: Dish, weather: [Weather]) -> [Dish] {
        var today = start
        return weather.map { w in
            today = rule(yesterday: today, weather: w)
            return today
        }
    }

    /// Parses "sunny,rainy,...".
    /// - Throws: `RecurrentError.invalidArgument` for an empty list, an unknown name, or more
    ///   than `maximumDays` days.
    public static func parseWeather(_ list: String) throws -> [Weather] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !(names.count == 1 && names[0].isEmpty) else {
            throw RecurrentError.invalidArgument(name: "weather list", value: list,
                                                 expected: "one or more of sunny, rainy separated by commas")
        }
        guard names.count <= maximumDays else {
            throw RecurrentError.invalidArgument(name: "weather list", value: "\(names.count) days",
                                                 expected: "at most \(maximumDays) days")
        }
        return try names.map { try Weather(parsing: $0) }
    }

    /// A seeded random weather sequence.
    public static func randomWeather(days: Int, rng: inout SeededGenerator) -> [Weather] {
        (0..<days).map { _ in rng.nextInt(below: 2) == 0 ? .sunny : .rainy }
    }

    // MARK: The hand-wired networks

    /// Network 1, one to one: weather → food. W (3, 2); sunny → pasta, rainy → burger.
    public static let weatherToFood = try! Matrix([[1, 0], [0, 1], [0, 0]])
    /// Network 2, yesterday's food → today's food, every day the next dish. W (3, 3).
    public static let foodToFood = try! Matrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    /// Network 3's Food matrix (6, 3): the "same" block I₃ over the "next day" block.
    public static let food = try! Matrix.identity(3).stacked(over: foodToFood)
    /// Network 3's Weather matrix (6, 2): three rows [1,0] over three rows [0,1].
    public static let weather = try! Matrix([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]])
    /// Network 3's Merge matrix (3, 6) = [I₃ | I₃].
    public static let merge = try! Matrix.identity(3).concatenated(with: .identity(3))

    /// One day of the full hand-wired network, every intermediate vector kept.
    public struct Trace: Sendable {
        public let yesterday: [Float]
        public let today: [Float]
        /// Food·yesterday (6).
        public let foodPart: [Float]
        /// Weather·today (6).
        public let weatherPart: [Float]
        /// Add = Food·yesterday + Weather·today (6).
        public let added: [Float]
        /// ReLU(Add − 1): only the entry where food and weather agree survives (6).
        public let activated: [Float]
        /// Merge·activated (3): today's dish, one-hot.
        public let output: [Float]
    }

    /// Runs the full hand-wired network for one day.
    public static func handWiredStep(yesterday: [Float], weather today: [Float]) -> Trace {
        // Force-try is safe: the vectors come from Dish/Weather and have the matrices' widths.
        let f = try! food.apply(yesterday)
        let w = try! weather.apply(today)
        let added = zip(f, w).map { $0 + $1 }
        let activated = added.map { max($0 - 1, 0) }
        let output = try! merge.apply(activated)
        return Trace(yesterday: yesterday, today: today, foodPart: f, weatherPart: w, added: added,
                     activated: activated, output: output)
    }

    /// The dish a one-hot-like vector stands for (its largest entry).
    public static func dish(of v: [Float]) -> Dish {
        Dish(rawValue: v.indices.max { v[$0] < v[$1] }!)!
    }

    /// The schedule computed by the hand-wired network, feeding each day's output back in.
    public static func handWiredSchedule(start: Dish, weather: [Weather]) -> [Dish] {
        var yesterday = start.oneHot
        return weather.map { w in
            yesterday = handWiredStep(yesterday: yesterday, weather: w.oneHot).output
            return dish(of: yesterday)
        }
    }
}
