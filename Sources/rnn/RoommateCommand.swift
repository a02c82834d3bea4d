import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct RoommateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roommate",
        abstract: "The lecture's perfect roommate: hand-wired networks, a week's schedule, and training.",
        discussion: """
            The roommate cooks pasta → burger → salad → pasta: on a sunny day the same dish as \
            yesterday, on a rainy day the next one. Without --train this prints the lecture's three \
            networks, the worked example, and a schedule computed by the hand-wired RNN.

            Examples:
              rnn roommate
              rnn roommate --start pasta --weather sunny,rainy,rainy,sunny,rainy
              rnn roommate --seed 7 --json
              rnn roommate --train                   the Food/Weather/Merge network from random weights
              rnn roommate --train --cell rnn --seed 2 --json
              rnn roommate --explain report.html     the hand-wired and a trained network side by side, as HTML
              rnn roommate --explain week.json --json --start salad --weather rainy,rainy,sunny
            """)

    @Option(help: "The dish cooked the day before the first weather day: pasta, burger or salad.")
    var start: String = "pasta"

    @Option(help: "One weather per day, comma-separated: sunny or rainy (default: a seeded random week).")
    var weather: String?

    @Option(help: "Seed for the random week, or for the initial weights with --train.", transform: parseSeed)
    var seed: UInt64 = 1

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    @Flag(help: "Train a network from random weights by backpropagation through time.")
    var train = false

    @Option(help: "With --train or --explain: roommate (Food, Weather, Merge) or rnn (the vanilla tanh RNN).")
    var cell: String = "roommate"

    @Option(parsing: .unconditional, help: "With --train or --explain: the most optimiser steps.")
    var steps: Int = 3000

    @Option(help: ArgumentHelp("Write a self-contained HTML page, atomically: the hand-wired network and one trained "
                               + "as --train does, side by side on the week (with --json: the same data as JSON).",
                               valueName: "file"))
    var explain: String?

    func validate() throws {
        guard RoommateModelKind(rawValue: cell) != nil else {
            throw ValidationError("invalid cell '\(cell)': expected roommate or rnn")
        }
        guard steps >= 1 && steps <= 1_000_000 else {
            throw ValidationError("invalid steps '\(steps)': expected 1...1000000")
        }
        guard !(train && explain != nil) else {
            throw ValidationError("--train and --explain: choose one (--explain trains a network too)")
        }
    }

    func run() throws {
        if train { return try runTraining() }
        let first = try Dish(parsing: start)
        let days: [Weather]
        if let weather {
            days = try Roommate.parseWeather(weather)
        } else {
            var rng = SeededGenerator(seed: seed)
            days = Roommate.randomWeather(days: 7, rng: &rng)
        }
        if let explain { return try runExplain(to: explain, start: first, weather: days) }
        let schedule = Roommate.handWiredSchedule(start: first, weather: days)
        if json {
            print(JSON.object([
                ("start", JSON.string(first.description)),
                ("weather", JSON.array(days.map { JSON.string($0.description) })),
                ("schedule", JSON.array(schedule.map { JSON.string($0.description) })),
            ]))
            return
        }
        print(Self.lecture())
        print()
        print(Self.table(start: first, weather: days, schedule: schedule))
    }

    static let dishNames = Dish.allCases.map(\.description)
    static let weatherNames = Weather.allCases.map(\.description)
    static let unitNames = ["pasta if sunny", "burger if sunny", "salad if sunny",
                            "pasta if rainy", "burger if rainy", "salad if rainy"]

    static func name(_ v: [Float]) -> String { Roommate.dish(of: v).description }

    /// The three networks and the worked example.
    static func lecture() -> String {
        var out: [String] = []
        out.append("The perfect roommate cooks pasta → burger → salad → pasta.")
        out.append("Sunny: the same dish as yesterday. Rainy: the next dish in the cycle.")
        out.append("One-hot vectors: pasta [1, 0, 0]  burger [0, 1, 0]  salad [0, 0, 1]  sunny [1, 0]  rainy [0, 1]")
        out.append("")
        out.append("1. One to one: today's weather → today's food")
        out.append(MatrixText.render("W", Roommate.weatherToFood, rowLabels: dishNames, colLabels: weatherNames))
        for w in Weather.allCases {
            let y = try! Roommate.weatherToFood.apply(w.oneHot)
            out.append("   W·\(w) = W·\(MatrixText.vector(w.oneHot)) = \(MatrixText.vector(y)) = \(name(y))")
        }
        out.append("")
        out.append("2. Recurrent: yesterday's food → today's food (every day the next dish)")
        out.append(MatrixText.render("W", Roommate.foodToFood, rowLabels: dishNames, colLabels: dishNames))
        for d in Dish.allCases {
            let y = try! Roommate.foodToFood.apply(d.oneHot)
            out.append("   W·\(d) = W·\(MatrixText.vector(d.oneHot)) = \(MatrixText.vector(y)) = \(name(y))")
        }
        out.append("")
        out.append("3. Food and weather: Add = Food·yesterday + Weather·today; keep where both agree; Merge")
        out.append(MatrixText.render("Food", Roommate.food, rowLabels: unitNames, colLabels: dishNames))
        out.append("   rows 1-3: the \"same\" block I3; rows 4-6: the \"next day\" block of network 2")
        out.append(MatrixText.render("Weather", Roommate.weather, rowLabels: unitNames, colLabels: weatherNames))
        out.append(MatrixText.render("Merge", Roommate.merge, rowLabels: dishNames, colLabels: (1...6).map { "u\($0)" }))
        out.append("   columns u1-u6: the six units, in the order of the rows of Food and Weather")
        out.append("   Merge = [I3 | I3]")
        out.append("")
        out.append("Worked example: yesterday pasta, today rainy")
        let trace = Roommate.handWiredStep(yesterday: Dish.pasta.oneHot, weather: Weather.rainy.oneHot)
        out.append("   Food·pasta            = \(MatrixText.vector(trace.foodPart))")
        out.append("   Weather·rainy         = \(MatrixText.vector(trace.weatherPart))")
        out.append("   Add                   = \(MatrixText.vector(trace.added))")
        out.append("   ReLU(Add − 1)         = \(MatrixText.vector(trace.activated))")
        out.append("   Merge·ReLU(Add − 1)   = \(MatrixText.vector(trace.output)) = \(name(trace.output))")
        return out.joined(separator: "\n")
    }

    static let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// The schedule as a table, one row per day.
    static func table(start: Dish, weather: [Weather], schedule: [Dish]) -> String {
        var out = ["Schedule from the hand-wired RNN (the day before: \(start))",
                   "  " + "Day".padding(toLength: 16, withPad: " ", startingAt: 0)
                   + "Weather".padding(toLength: 9, withPad: " ", startingAt: 0) + "Dish"]
        for (i, (w, d)) in zip(weather, schedule).enumerated() {
            var day = weekdays[i % 7]
            if weather.count > 7 { day += " (day \(i + 1))" }
            out.append("  " + day.padding(toLength: 16, withPad: " ", startingAt: 0)
                       + w.description.padding(toLength: 9, withPad: " ", startingAt: 0) + d.description)
        }
        return out.joined(separator: "\n")
    }

    /// --train's configuration; --explain trains with the same one.
    var trainingConfiguration: RoommateTrainingConfiguration {
        var config = RoommateTrainingConfiguration()
        config.model = RoommateModelKind(rawValue: cell)!
        config.seed = seed
        config.maximumSteps = steps
        return config
    }

    func runExplain(to path: String, start: Dish, weather: [Weather]) throws {
        try checkOutputFile(path, notOverwriting: [])
        let report = RoommateReport(try explainRoommate(start: start, weather: weather, training: trainingConfiguration))
        try writeAtomically(Data(((json ? report.data() : report.html()) + "\n").utf8), to: path)
        let e = report.explanation
        let agree = zip(e.handWiredDishes, e.trainedDishes).filter { $0 == $1 }.count
        print("Wrote \(path): \(weather.count) days, the networks agree on \(agree); "
              + String(format: "trained %@ held-out accuracy %.1f%% after %d steps", cell, e.training.accuracy * 100,
                       e.training.steps))
    }

    func runTraining() throws {
        let result = try trainRoommate(trainingConfiguration)
        if json {
            print(JSON.object([
                ("cell", JSON.string(result.model.rawValue)),
                ("accuracy", JSON.number(result.accuracy)),
                ("steps", "\(result.steps)"),
                ("seed", "\(result.seed)"),
            ]))
            return
        }
        print("Training the \(result.model == .roommate ? "Food/Weather/Merge roommate network" : "vanilla tanh RNN") "
              + "from random weights (seed \(result.seed))")
        print("\(result.trainingWeeks) training weeks, \(result.heldOutWeeks) held-out weeks never seen in training")
        print("  step   loss     held-out accuracy")
        for h in result.history {
            print("  " + "\(h.step)".padding(toLength: 7, withPad: " ", startingAt: 0)
                  + String(format: "%-9.4f%6.1f%%", h.loss, h.accuracy * 100))
        }
        print(String(format: "Held-out accuracy %.1f%% after %d steps", result.accuracy * 100, result.steps))
        print()
        print("Learned parameters:")
        let units = (1...6).map { "u\($0)" }
        let labels: [String: (rows: [String], cols: [String])] = [
            "roommate.weather": (units, Self.weatherNames), "roommate.food": (units, Self.dishNames),
            "roommate.merge": (Self.dishNames, units), "roommate.add_bias": ([], units),
            "roommate.merge_bias": ([], Self.dishNames),
        ]
        for (name, value) in result.parameters {
            let shown = value.cols == 1 ? value.transposed : value   // biases as one row
            let l = labels[name] ?? ([], [])
            print(MatrixText.render(name, shown, rowLabels: l.rows, colLabels: l.cols, decimals: 2))
        }
    }
}
