import Foundation
import XCTest

/// JSONL files with Windows line ends through the task commands, and `rnn bench jsonl`.
final class JSONLCLITests: ScratchFolderTestCase {
    func write(_ name: String, _ text: String) -> String {
        XCTAssertTrue(FileManager.default.createFile(atPath: path(name), contents: Data(text.utf8)))
        return path(name)
    }

    func testFitPredictAndEvaluateReadWindowsLineEnds() throws {
        let lines = (0..<24).map { k in
            "{\"input\": \"\(k % 2 == 0 ? "ab" : "ba")\(String(repeating: "a", count: k % 3))\", \"target\": \"\(k % 2 == 0 ? "x" : "y")\", \"id\": \(k)}"
        }
        let data = write("train.jsonl", "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n")
        let fit = try runRNN(["fit", "--task", "classify", "--data", data, "--valid", data, "--hidden", "4", "--embedding", "3",
                              "--epochs", "1", "--out", path("fit")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let checkpoint = path("fit/best.safetensors")
        let predict = try runRNN(["predict", "--checkpoint", checkpoint, "--data", data])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let predictions = predict.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(predictions.count, 24)
        XCTAssertEqual(predictions.last??["id"] as? String, "23")
        // The labels were read without a stray "\r".
        XCTAssertTrue(predictions.allSatisfy { ["x", "y"].contains($0?["prediction"] as? String ?? "") }, predict.stdout)
        let evaluate = try runRNN(["evaluate", "--checkpoint", checkpoint, "--data", data])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        // A bad line is named by its number, blank lines counted.
        let bad = write("bad.jsonl", lines[0] + "\r\n\r\n" + "{\"input\": \"ab\", \"target\": \"x\"\r\n")
        let refused = try runRNN(["evaluate", "--checkpoint", checkpoint, "--data", bad])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("bad.jsonl:3: not valid JSON at byte 30: expected ',' or '}', found the end of the line"),
                      refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
    }

    func testBenchJSONL() throws {
        let rows = (0..<4).map { _ in "[0.5, -1e-3, 2]" }.joined(separator: ", ")
        let data = write("seq.jsonl", (0..<50).map { "{\"input\": [\(rows)], \"target\": \($0)}\n" }.joined())
        let r = try runRNN(["bench", "jsonl", "--data", data, "--runs", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["examples"] as? Int, 50)
        XCTAssertEqual(object?["bytes"] as? Int, try FileManager.default.attributesOfItem(atPath: data)[.size] as? Int)
        for key in ["mb_s", "examples_s", "peak_rss_mb"] { XCTAssertGreaterThan(object?[key] as? Double ?? 0, 0, key) }
        let missing = try runRNN(["bench", "jsonl", "--data", path("missing.jsonl")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no such file"), missing.stderr)
    }
}
