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
        XCTAssertTrue(missing.stderr.contains("does not exist"), missing.stderr)
    }
}

/// What a user expects of predict: standard input, an output line for every input line (an
/// "error" line for a bad one), the share of unknown words and a warning when most are unknown;
/// and word tokens lowercased unless `--keep-case`.
final class PredictCLITests: ScratchFolderTestCase {
    func testStdinPlaceholdersUnknownWordsAndCase() throws {
        let lines = (0..<120).map { i in
            "{\"input\": \"\(i % 2 == 0 ? "A fine, GOOD day." : "an awful, bad day!")\", \"target\": \"\(i % 2 == 0 ? "pos" : "neg")\"}"
        }
        let data = path("train.jsonl")
        _ = FileManager.default.createFile(atPath: data, contents: Data(lines.joined(separator: "\n").utf8))
        let fit = try runRNN(["fit", "--task", "classify", "--tokens", "word", "--data", data, "--hidden", "8", "--embedding", "4",
                              "--epochs", "3", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let input = "{\"id\": \"a\", \"input\": \"a good day\"}\nnot json\n{\"id\": \"b\", \"input\": \"xyzzy plugh\"}\n"
        let questions = path("q.jsonl")
        _ = FileManager.default.createFile(atPath: questions, contents: Data(input.utf8))
        let r = try runRNN(["predict", "--checkpoint", path("run/best.safetensors"), "--data", "-", "--on-error", "skip"],
                           stdin: questions)
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = r.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(out.count, 3, r.stdout)
        XCTAssertEqual(out[0]?["id"] as? String, "a")
        XCTAssertEqual(out[0]?["unknown"] as? Double, 0)   // "a good day": lowercased words it saw
        XCTAssertEqual(out[1]?["line"] as? Int, 2)
        XCTAssertTrue((out[1]?["error"] as? String)?.contains("not valid JSON") == true, r.stdout)
        XCTAssertEqual(out[2]?["unknown"] as? Double, 1)
        XCTAssertTrue(r.stderr.contains("skipped 1 bad lines"), r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: 1 input is more than half tokens the model never saw in training (line 3)"), r.stderr)
        let evaluate = try runRNN(["evaluate", "--checkpoint", path("run/best.safetensors"), "--data", data, "--json"])
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any], evaluate.stdout)
        XCTAssertEqual(metrics["unknown_rate"] as? Double, 0)
        XCTAssertEqual(metrics["labels"] as? [String], ["neg", "pos"])
        let confusion = try XCTUnwrap(metrics["confusion"] as? [[Int]], evaluate.stdout)
        XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), 120)
        // --keep-case: "GOOD" (seen in training) and "good", "Good" (not seen) are different words.
        let cased = try runRNN(["fit", "--task", "classify", "--tokens", "word", "--keep-case", "--data", data, "--hidden", "8",
                                "--embedding", "4", "--epochs", "1", "--out", path("cased")])
        XCTAssertEqual(cased.status, 0, cased.stderr)
        let loud = path("loud.jsonl")
        _ = FileManager.default.createFile(atPath: loud, contents: Data("{\"input\": \"GOOD good Good\"}\n".utf8))
        let shouted = try runRNN(["predict", "--checkpoint", path("cased/best.safetensors"), "--data", "-"], stdin: loud)
        let unknown = (try JSONSerialization.jsonObject(with: Data(shouted.stdout.utf8)) as? [String: Any])?["unknown"] as? Double
        XCTAssertEqual(unknown ?? -1, 2.0 / 3, accuracy: 1e-9, shouted.stdout + shouted.stderr)
    }
}
