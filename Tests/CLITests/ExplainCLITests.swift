import Foundation
import Recurrent
import RecurrentApps
import XCTest

/// `rnn explain` as a user runs it: the HTML report, the JSON and its agreement with `rnn score`,
/// the bound on steps, and one-line refusals.
final class ExplainCLITests: ScratchFolderTestCase {
    let corpus = "the cat said \"to (be) or not\" to the dog\nand [so] on, \"and on\".\n"

    /// A 2-layer GRU character model with seeded weights, and a text it can read (4 × `corpus`).
    func files(corpus: String? = nil, textName: String = "text.txt") throws -> (checkpoint: String, text: String) {
        let corpus = corpus ?? self.corpus
        let c = CharModelConfiguration(cell: .gru, vocabulary: Vocabulary(text: corpus), embeddingSize: 4, hiddenSize: 6, layers: 2)
        let model = try CharLanguageModel(configuration: c, seed: 11)
        let checkpoint = path("char.safetensors"), text = path(textName)
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
            ("task checkpoint with --text", ["--checkpoint", task, "--text", text, "--json", "--out", out],
             "give its examples with --data"),
            ("character checkpoint with --data", ["--checkpoint", checkpoint, "--data", text, "--json", "--out", out],
             "give its text with --text"),
            ("neither --text nor --data", ["--checkpoint", checkpoint, "--json", "--out", out], "expected --text"),
            ("both --text and --data", ["--checkpoint", checkpoint, "--text", text, "--data", text, "--out", out], "give one"),
            ("missing checkpoint", ["--checkpoint", path("missing.safetensors"), "--text", text, "--json", "--out", out],
             "missing.safetensors: does not exist"),
            ("missing text", ["--checkpoint", checkpoint, "--text", path("missing.txt"), "--json", "--out", out],
             "missing.txt: does not exist"),
            ("unknown character", ["--checkpoint", checkpoint, "--text", alien, "--json", "--out", out], "U+00E9"),
            ("task checkpoint with --text, HTML", ["--checkpoint", task, "--text", text, "--out", out], "give its examples with --data"),
            ("max steps 0", ["--checkpoint", checkpoint, "--text", text, "--json", "--max-steps", "0"], "max-steps '0'"),
            ("max steps 0, HTML", ["--checkpoint", checkpoint, "--text", text, "--max-steps", "0", "--out", out], "max-steps '0'"),
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

    /// The JSON in the page's data block.
    func pageData(_ html: String) throws -> [String: Any] {
        let open = "<script type=\"application/json\" id=\"explain-data\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        return try object(String(html[start..<end]))
    }

    func testHTMLReportWithoutJSON() throws {
        let (checkpoint, text) = try files()
        let out = path("report.html")
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--out", out, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        for id in ["surprisal", "units", "saturation", "states"] {
            XCTAssertTrue(html.contains("<section id=\"\(id)\">"), id)
        }
        // Self-contained: nothing to fetch.
        for needle in ["<link", "<img", " src=", "http://", "https://"] {
            XCTAssertFalse(html.contains(needle), needle)
        }
        let n = 4 * corpus.unicodeScalars.count
        XCTAssertTrue(html.contains("\(n - 1) (at most 2000, --max-steps); the whole text"))
        let data = try pageData(html)
        XCTAssertEqual(data["steps"] as? Int, n - 1)
        XCTAssertEqual(data["output_size"] as? Int, 6)
        XCTAssertEqual(data["text"] as? String, String(repeating: corpus, count: 4))
        XCTAssertEqual((data["bits"] as? [Double])?.count, n - 1)
        XCTAssertEqual((data["top"] as? [[Any]])?.first?.count, 5)
        let layers = try XCTUnwrap(data["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 2)
        let states = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(layers[1]["states"] as? String)))
        XCTAssertEqual(states.count, (n - 1) * 6)
        // The GRU's σ gates r and z: one scatter each, a dot per unit and layer.
        XCTAssertEqual(html.components(separatedBy: "<figure class=\"scatter\">").count - 1, 2)
        XCTAssertEqual(html.components(separatedBy: "<circle ").count - 1, 2 * 2 * 6)

        // Standard output without --out: the same page.
        let printed = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--threads", "1"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertEqual(printed.stdout, html)
    }

    func testHTMLEscapesTheTextAndPaths() throws {
        let hostile = "a <script>alert('&')</script> & \"b\" </b>\n"
        let (checkpoint, text) = try files(corpus: hostile, textName: "q&a <x>.txt")
        let out = path("report.html")
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        // The page's own two scripts, and no other: the text's <script> is \u003cscript\u003e in the data.
        XCTAssertEqual(html.components(separatedBy: "<script").count - 1, 2)
        XCTAssertFalse(html.contains("<script>alert"))
        XCTAssertFalse(html.contains("</b>"))
        XCTAssertTrue(html.contains("\\u003cscript\\u003ealert('\\u0026')\\u003c/script\\u003e \\u0026 \\\"b\\\""))
        XCTAssertFalse(html.contains("q&a <x>.txt"))
        XCTAssertTrue(html.contains("q&amp;a &lt;x&gt;.txt"))
        XCTAssertEqual(try pageData(html)["text"] as? String, String(repeating: hostile, count: 4))
    }

    func testJSONFlagStillWritesJSONWhateverTheExtension() throws {
        let (checkpoint, text) = try files()
        let out = path("report.html")
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--text", text, "--json", "--out", out, "--max-steps", "10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try object(try String(contentsOfFile: out, encoding: .utf8))
        XCTAssertEqual(e["steps_shown"] as? Int, 10)
    }
}
