import XCTest
@testable import Recurrent
@testable import RecurrentApps

final class RoommateTests: XCTestCase {
    func testLectureMatrices() throws {
        XCTAssertEqual(Roommate.weatherToFood, try Matrix([[1, 0], [0, 1], [0, 0]]))
        XCTAssertEqual(Roommate.foodToFood, try Matrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]]))
        XCTAssertEqual(Roommate.food, try Matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]]))
        XCTAssertEqual(Roommate.weather, try Matrix([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]]))
        XCTAssertEqual(Roommate.merge, try Matrix([[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1]]))
        // Network 1: sunny → pasta, rainy → burger. Network 2: pasta → burger → salad → pasta.
        XCTAssertEqual(try Roommate.weatherToFood.apply(Weather.sunny.oneHot), Dish.pasta.oneHot)
        XCTAssertEqual(try Roommate.weatherToFood.apply(Weather.rainy.oneHot), Dish.burger.oneHot)
        for d in Dish.allCases { XCTAssertEqual(try Roommate.foodToFood.apply(d.oneHot), d.next.oneHot) }
    }

    func testWorkedExampleDigitForDigit() {
        let trace = Roommate.handWiredStep(yesterday: Dish.pasta.oneHot, weather: Weather.rainy.oneHot)
        XCTAssertEqual(trace.added, [1, 0, 0, 1, 2, 1])
        XCTAssertEqual(trace.activated, [0, 0, 0, 0, 1, 0])
        XCTAssertEqual(trace.output, [0, 1, 0])
    }

    func testHandWiredNetworkMatchesTheRule() {
        for d in Dish.allCases {
            for w in Weather.allCases {
                let out = Roommate.handWiredStep(yesterday: d.oneHot, weather: w.oneHot).output
                XCTAssertEqual(out, Roommate.rule(yesterday: d, weather: w).oneHot, "\(d), \(w)")
            }
        }
        var rng = SeededGenerator(seed: 2024)
        for _ in 0..<1000 {
            let start = Dish(rawValue: rng.nextInt(below: 3))!
            let weather = Roommate.randomWeather(days: 7, rng: &rng)
            XCTAssertEqual(Roommate.handWiredSchedule(start: start, weather: weather),
                           Roommate.schedule(start: start, weather: weather))
        }
    }

    func testLectureExampleSchedule() throws {
        let weather = try Roommate.parseWeather("sunny,rainy,rainy,sunny,rainy")
        XCTAssertEqual(Roommate.handWiredSchedule(start: .pasta, weather: weather),
                       [.pasta, .burger, .salad, .salad, .pasta])
    }

    func testBadInputIsRefusedWithClearErrors() {
        XCTAssertThrowsError(try Roommate.parseWeather("sunny,snowy")) {
            XCTAssertEqual("\($0)", "invalid weather 'snowy': expected one of sunny, rainy")
        }
        XCTAssertThrowsError(try Roommate.parseWeather(""))
        XCTAssertThrowsError(try Roommate.parseWeather("sunny,,rainy"))
        XCTAssertThrowsError(try Roommate.parseWeather(Array(repeating: "sunny", count: 10_001).joined(separator: ","))) {
            XCTAssertEqual("\($0)", "invalid weather list '10001 days': expected at most 10000 days")
        }
        XCTAssertNoThrow(try Roommate.parseWeather(Array(repeating: "rainy", count: 10_000).joined(separator: ",")))
        XCTAssertThrowsError(try Dish(parsing: "soup")) {
            XCTAssertEqual("\($0)", "invalid dish 'soup': expected one of pasta, burger, salad")
        }
    }

    /// Both networks learn the rule from random weights, whatever the seed.
    func testBothModelsReachFullHeldOutAccuracyFromEverySeed() throws {
        for model in RoommateModelKind.allCases {
            for seed: UInt64 in [1, 2, 3, 4, 5] {
                var config = RoommateTrainingConfiguration()
                config.model = model
                config.seed = seed
                let result = try trainRoommate(config)
                XCTAssertEqual(result.accuracy, 1, "\(model) seed \(seed): \(result.accuracy) after \(result.steps) steps")
                XCTAssertGreaterThan(result.heldOutWeeks, 50)
                // The loss went down.
                XCTAssertLessThan(result.history.last!.loss, result.history.first!.loss)
            }
        }
    }

    func testTrainingIsReproducible() throws {
        var config = RoommateTrainingConfiguration()
        config.model = .rnn
        config.seed = 9
        let a = try trainRoommate(config), b = try trainRoommate(config)
        XCTAssertEqual(a.steps, b.steps)
        XCTAssertEqual(a.parameters.map(\.value), b.parameters.map(\.value))
    }
}
