import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// `explainRoommate` and its page: the hand-wired days are the lecture's, the trained days are
/// the trained model's own forward.
final class RoommateExplanationTests: XCTestCase {
    let week: [Weather] = [.sunny, .rainy, .rainy, .sunny, .rainy, .sunny, .rainy]

    func testHandWiredDaysAreTheHandWiredSchedule() throws {
        var config = RoommateTrainingConfiguration()
        config.maximumSteps = 25
        let e = try explainRoommate(start: .burger, weather: week, training: config)
        XCTAssertEqual(e.handWiredDishes, Roommate.handWiredSchedule(start: .burger, weather: week))
        XCTAssertEqual(e.rule, Roommate.schedule(start: .burger, weather: week))
        var yesterday = Dish.burger.oneHot
        for (w, day) in zip(week, e.handWired) {
            let expected = Roommate.handWiredStep(yesterday: yesterday, weather: w.oneHot)
            XCTAssertEqual([day.yesterday, day.today, day.foodPart, day.weatherPart, day.added, day.activated, day.output],
                           [expected.yesterday, expected.today, expected.foodPart, expected.weatherPart, expected.added,
                            expected.activated, expected.output])
            yesterday = expected.output
        }
    }

    /// The trained days, computed from the learned matrices, are the trained model's own batch
    /// forward: the same logits (to rounding) and so the same winning dish, for both models.
    func testTrainedDaysAreTheModelsOwnForward() throws {
        for kind in RoommateModelKind.allCases {
            var config = RoommateTrainingConfiguration()
            config.model = kind
            config.seed = 4
            let (result, model) = try trainRoommateModel(config)
            for start in Dish.allCases {
                let days = trainedRoommateDays(result, start: start, weather: week)
                let logits = model.dayLogits(Week(start: start, weather: week,
                                                  dishes: Roommate.schedule(start: start, weather: week)))
                XCTAssertEqual(days.map(\.dish), logits.map { Roommate.dish(of: $0) }, "\(kind) from \(start)")
                for (d, z) in zip(days, logits) {
                    for (a, b) in zip(d.scores, z) { XCTAssertEqual(a, b, accuracy: 1e-4, "\(kind) from \(start)") }
                }
            }
            // The explanation trains the same network: same seed, same weights, same days.
            let e = try explainRoommate(start: .salad, weather: week, training: config)
            XCTAssertEqual(e.training.steps, result.steps)
            XCTAssertEqual(e.trainedDishes, trainedRoommateDays(result, start: .salad, weather: week).map(\.dish))
        }
    }

    func testPageHasItsSectionsAndData() throws {
        var config = RoommateTrainingConfiguration()
        config.maximumSteps = 25
        let report = RoommateReport(try explainRoommate(start: .pasta, weather: [.rainy], training: config))
        let html = report.html()
        for id in ["week", "matrices", "training"] { XCTAssertTrue(html.contains("<section id=\"\(id)\">"), id) }
        XCTAssertTrue(html.contains("<script type=\"application/json\" id=\"roommate-data\">"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"))
        let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.data().utf8)) as? [String: Any])
        XCTAssertEqual(data["rule"] as? [String], ["burger"])
        XCTAssertThrowsError(try explainRoommate(start: .pasta, weather: [], training: config))
    }
}
