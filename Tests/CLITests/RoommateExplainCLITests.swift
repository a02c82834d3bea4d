import Foundation
import XCTest

/// `rnn roommate --explain`: the page, its data against `rnn roommate`'s own output, bad paths.
final class RoommateExplainCLITests: ScratchFolderTestCase {
    let week = "sunny,rainy,rainy,sunny,rainy,sunny,rainy"

    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// The hand-wired days of the report's data are what `rnn roommate` prints, digit for digit:
    /// the schedule's dish per day, and the worked example's vectors on the day that is
    /// "yesterday pasta, today rainy".
    func testHandWiredDaysAreWhatRoommatePrints() throws {
        let printed = try runRNN(["roommate", "--start", "pasta", "--weather", week])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let explained = try runRNN(["roommate", "--start", "pasta", "--weather", week, "--explain", path("week.json"), "--json"])
        XCTAssertEqual(explained.status, 0, explained.stderr)
        let data = try json(path("week.json"))
        let days = try XCTUnwrap((data["hand_wired"] as? [String: Any])?["days"] as? [[String: Any]])
        let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        let rows = printed.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count == 3 && weekdays.contains($0[0]) }
        XCTAssertEqual(rows.map { $0[2] }, days.map { $0["dish"] as? String ?? "" })
        XCTAssertEqual(rows.map { $0[1] }, data["weather"] as? [String])

        func text(_ v: Any?) -> String {
            "[" + ((v as? [Double]) ?? []).map { $0 == $0.rounded() ? "\(Int($0))" : "\($0)" }.joined(separator: ", ") + "]"
        }
        // Tuesday: yesterday pasta (Monday was sunny after pasta), today rainy.
        let tuesday = days[1]
        XCTAssertEqual(text(tuesday["yesterday"]), "[1, 0, 0]")
        XCTAssertEqual(text(tuesday["today"]), "[0, 1]")
        for (label, key) in [("Food·pasta", "food"), ("Weather·rainy", "weather"), ("Add", "add"),
                             ("ReLU(Add − 1)", "relu"), ("Merge·ReLU(Add − 1)", "merge")] {
            let line = "   " + label.padding(toLength: 22, withPad: " ", startingAt: 0) + "= " + text(tuesday[key])
            XCTAssertTrue(printed.stdout.contains(line), "no line '\(line)' in rnn roommate's output")
        }

        // Without --weather: the seeded random week of rnn roommate --seed S, and the network of
        // rnn roommate --train --seed S.
        let schedule = try runRNN(["roommate", "--seed", "6", "--json"])
        let train = try runRNN(["roommate", "--train", "--seed", "6", "--json"])
        let random = try runRNN(["roommate", "--seed", "6", "--explain", path("random.json"), "--json"])
        XCTAssertEqual(random.status, 0, random.stderr)
        let r = try json(path("random.json"))
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(schedule.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(r["weather"] as? [String], expected["weather"] as? [String])
        let handDishes = ((r["hand_wired"] as? [String: Any])?["days"] as? [[String: Any]])?.map { $0["dish"] as? String ?? "" }
        XCTAssertEqual(handDishes, expected["schedule"] as? [String])
        let trained = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any])
        let t = try XCTUnwrap(r["trained"] as? [String: Any])
        XCTAssertEqual(t["steps"] as? Int, trained["steps"] as? Int)
        XCTAssertEqual(t["accuracy"] as? Double, trained["accuracy"] as? Double)
        XCTAssertEqual((t["days"] as? [Any])?.count, 7)
    }

    func testWritesThePage() throws {
        for cell in ["roommate", "rnn"] {
            let page = path("\(cell).html")
            let r = try runRNN(["roommate", "--explain", page, "--cell", cell, "--start", "salad", "--weather", "rainy,sunny"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let html = try String(contentsOfFile: page, encoding: .utf8)
            XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
            for id in ["week", "matrices", "training"] { XCTAssertTrue(html.contains("<section id=\"\(id)\">"), id) }
            XCTAssertTrue(html.contains("document.body.dataset.ready = \"1\""))
            XCTAssertTrue(r.stdout.hasPrefix("Wrote \(page): 2 days"), r.stdout)
        }
    }

    func testBadPathIsOneLine() throws {
        let missing = path("no-such-folder/report.html")
        let r = try runRNN(["roommate", "--explain", missing])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("no-such-folder"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        let folder = try runRNN(["roommate", "--explain", dir])
        XCTAssertNotEqual(folder.status, 0)
        XCTAssertEqual(folder.stderr.split(separator: "\n").count, 1, folder.stderr)
    }
}
