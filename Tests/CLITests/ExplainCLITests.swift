import Foundation
import Recurrent
import RecurrentApps
import XCTest

/// `rnn explain --json` as a user runs it: the JSON, its agreement with `rnn score`, the bound on
/// steps, and one-line refusals.
final class ExplainCLITests: ScratchFolderTestCase {
    let corpus = "the cat said \"to (be) or not\" to the dog\nand [so] on, \"and on\".\n"

    /// A 2-layer GRU character model with seeded weights, and a text it can read.
    func files() throws -> (checkpoint: String, text: String) {
        let c = CharModelConfiguration(cell: .gru, vocabulary: Vocabulary(text: corpus), embeddingSize: 4, hiddenSize: 6, layers: 2)
        let model = try CharLanguageModel(configuration: c, seed: 11)
        let checkpoint = path("char.safetensors"), text = path("text.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: checkpoint, contents: model.checkpoint()))
        XCTAssertTrue(FileManager.default.createFile(atPath: text, contents: Data(String(repeating: corpus, count: 4).utf8)))
        return (checkpoint, text)
    }

    func object(_ json: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    func testJSONAgreesWithScore() throws {
        let (checkpoint, text) = try files()
        let out = path("explain.json")
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--json", "--out", out, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        let e = try object(written)
        let n = 4 * corpus.unicodeScalars.count
        XCTAssertEqual(e["characters"] as? Int, n)
        XCTAssertEqual(e["steps_shown"] as? Int, n - 1)
        XCTAssertEqual(e["max_steps"] as? Int, 2000)
        XCTAssertEqual(e["truncated"] as? Bool, false)
        XCTAssertEqual(e["checkpoint"] as? String, checkpoint)
        let model = try XCTUnwrap(e["model"] as? [String: Any])
        XCTAssertEqual(model["cell"] as? String, "gru")
        XCTAssertEqual((e["gates"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["r", "z", "n"])
        let steps = try XCTUnwrap(e["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.count, n - 1)
        XCTAssertEqual(steps[0]["char"] as? String, "t")
        XCTAssertEqual(steps[0]["next"] as? String, "h")
        XCTAssertEqual((steps[0]["top"] as? [Any])?.count, 5)
        let layers = try XCTUnwrap(e["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 2)
        XCTAssertEqual((layers[0]["saturation"] as? [[String: Any]])?.compactMap { $0["gate"] as? String }, ["r", "z"])
        XCTAssertEqual((layers[0]["units"] as? [[String: Any]])?.compactMap { $0["feature"] as? String },
                       ["position_in_line", "inside_quotes", "inside_brackets", "autocorrelation"])
        XCTAssertEqual((layers[1]["states"] as? [[Double]])?.count, n - 1)

        let score = try runRNN(["score", "--checkpoint", checkpoint, "--text", text, "--json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let nats = try XCTUnwrap(try object(score.stdout)["nats_per_char"] as? Double)
        let ours = try XCTUnwrap(e["nats_per_char"] as? Double)
        XCTAssertEqual(ours, nats, accuracy: 1e-6 * nats)
        XCTAssertEqual(try XCTUnwrap(e["mean_surprisal_bits"] as? Double) * log(2), ours, accuracy: 1e-12)

        // Standard output without --out, and standard input for --text -: the same JSON but the text's path.
        let printed = try runRNN(["explain", "--checkpoint", checkpoint, "--text", "-", "--json"], stdin: text)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertEqual(printed.stdout, written.replacingOccurrences(of: JSONText.string(text), with: "\"-\""))
    }

    func testMaxStepsBoundsTheSteps() throws {
        let (checkpoint, text) = try files()
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--json", "--max-steps", "25"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try object(r.stdout)
        XCTAssertEqual(e["steps_shown"] as? Int, 25)
        XCTAssertEqual(e["max_steps"] as? Int, 25)
        XCTAssertEqual(e["truncated"] as? Bool, true)
        XCTAssertEqual((e["steps"] as? [Any])?.count, 25)
        XCTAssertEqual(((e["layers"] as? [[String: Any]])?[0]["states"] as? [Any])?.count, 25)
    }

    func testRefusalsAreOneLineAndLeaveNoFile() throws {
        let (checkpoint, text) = try files()
        let task = try tinyTaskCheckpoint()
        let alien = path("alien.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: alien, contents: Data("the cat é".utf8)))
        let out = path("e.json")
        let cases: [(String, [String], String)] = [
            ("task checkpoint", ["--checkpoint", task, "--text", text, "--json", "--out", out],
             "rnn explain supports character models"),
            ("missing checkpoint", ["--checkpoint", path("missing.safetensors"), "--text", text, "--json", "--out", out],
             "missing.safetensors: does not exist"),
            ("missing text", ["--checkpoint", checkpoint, "--text", path("missing.txt"), "--json", "--out", out],
             "missing.txt: does not exist"),
            ("unknown character", ["--checkpoint", checkpoint, "--text", alien, "--json", "--out", out], "U+00E9"),
            ("no --json", ["--checkpoint", checkpoint, "--text", text, "--out", out], "the HTML report is not built yet"),
            ("max steps 0", ["--checkpoint", checkpoint, "--text", text, "--json", "--max-steps", "0"], "max-steps '0'"),
            ("output is the text", ["--checkpoint", checkpoint, "--text", text, "--json", "--out", text], "other than the input"),
        ]
        for (name, arguments, needle) in cases {
            let r = try runRNN(["explain"] + arguments)
            XCTAssertFalse(r.signaled, "\(name) died of a signal")
            XCTAssertTrue((1...127).contains(r.status), "\(name): status \(r.status)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(name): \(r.stderr.debugDescription)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(name): \(r.stderr) lacks \(needle)")
            XCTAssertEqual(r.stdout, "", name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), name)
        }
    }
}
