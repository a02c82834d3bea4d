import Foundation
import XCTest

/// `rnn explain --data` on task models (`rnn fit`'s): the JSON's fields and its agreement with
/// `rnn predict`, the HTML report's sections, and one-line refusals.
final class TaskExplainCLITests: ScratchFolderTestCase {
    /// roommate weeks: the tag data, and a classify set made of it (the week's last dish as the label).
    func data() throws -> (weeks: String, classify: String) {
        let r = try runRNN(["data", "roommate", "--count", "120", "--seed", "5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let weeks = path("weeks.jsonl"), classify = path("classify.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: weeks, contents: Data(r.stdout.utf8)))
        var lines: [String] = []
        for line in r.stdout.split(separator: "\n") {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let target = try XCTUnwrap(o["target"] as? [String]).last!
            lines.append("{\"id\": \"\(o["id"]!)\", \"input\": \"\(o["input"]!)\", \"target\": \"\(target)\"}")
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: classify, contents: Data((lines.joined(separator: "\n") + "\n").utf8)))
        return (weeks, classify)
    }

    func fit(_ task: String, _ data: String, _ name: String, _ extra: [String] = []) throws -> String {
        let r = try runRNN(["fit", "--task", task, "--tokens", "word", "--data", data, "--hidden", "8", "--embedding", "4",
                            "--epochs", "2", "--seed", "3", "--out", path(name)] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return path("\(name)/best.safetensors")
    }

    func explain(_ checkpoint: String, _ data: String, _ extra: [String] = []) throws -> [String: Any] {
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--data", data, "--json", "--max-examples", "7"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    func predictions(_ checkpoint: String, _ data: String) throws -> [[String: Any]] {
        let r = try runRNN(["predict", "--checkpoint", checkpoint, "--data", data])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try r.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// The last step of the formation is the prediction, with rnn predict's probability, for
    /// both poolings; a bidirectional model has no formation.
    func testClassifyFormationEndsAtThePrediction() throws {
        let (_, classify) = try data()
        for (name, extra) in [("final", [String]()), ("mean", ["--pooling", "mean"])] {
            let checkpoint = try fit("classify", classify, name, extra)
            let x = try explain(checkpoint, classify)
            XCTAssertEqual(x["task"] as? String, "classify")
            XCTAssertEqual(x["formation"] as? Bool, true)
            XCTAssertEqual(x["pooling"] as? String, name)
            XCTAssertEqual(x["total"] as? Int, 120)
            let labels = try XCTUnwrap(x["labels"] as? [String])
            let examples = try XCTUnwrap(x["examples"] as? [[String: Any]])
            XCTAssertEqual(examples.count, 7)
            let predicted = try predictions(checkpoint, classify)
            for (e, p) in zip(examples, predicted) {
                XCTAssertEqual(e["id"] as? String, p["id"] as? String)
                XCTAssertEqual(e["prediction"] as? String, p["prediction"] as? String, name)
                let probability = try XCTUnwrap(p["probability"] as? Double)
                XCTAssertEqual(try XCTUnwrap(e["probability"] as? Double), probability, accuracy: 1e-12)
                let inputs = try XCTUnwrap(e["inputs"] as? [String])
                let steps = try XCTUnwrap(e["steps"] as? [[String: Any]])
                XCTAssertEqual(steps.count, inputs.count)
                XCTAssertEqual(steps.map { $0["input"] as? String }, inputs.map { $0 })
                XCTAssertNotNil(e["target"] as? String)
                let last = try XCTUnwrap(steps.last)
                XCTAssertEqual(last["label"] as? String, p["prediction"] as? String, name)
                XCTAssertEqual(try XCTUnwrap(last["probability"] as? Double), probability, accuracy: 1e-5, name)
                for s in steps {
                    let ps = try XCTUnwrap(s["probabilities"] as? [Double])
                    XCTAssertEqual(ps.count, labels.count)
                    XCTAssertEqual(ps.reduce(0, +), 1, accuracy: 1e-5)
                }
            }
        }
        let bidirectional = try fit("classify", classify, "bi", ["--bidirectional"])
        let x = try explain(bidirectional, classify)
        XCTAssertEqual(x["formation"] as? Bool, false)
        let examples = try XCTUnwrap(x["examples"] as? [[String: Any]])
        XCTAssertTrue(examples.allSatisfy { ($0["steps"] as? [Any])?.isEmpty == true })
        XCTAssertEqual(examples.first?["prediction"] as? String, try predictions(bidirectional, classify).first?["prediction"] as? String)
    }

    /// regress: the last step's value is the prediction, in the targets' units.
    func testRegressFormationEndsAtThePrediction() throws {
        let (weeks, _) = try data()
        var lines: [String] = []
        for (i, line) in try String(contentsOfFile: weeks, encoding: .utf8).split(separator: "\n").enumerated() {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let input = try XCTUnwrap(o["input"] as? String)
            let sunny = input.split(separator: " ").filter { $0 == "sunny" }.count
            lines.append("{\"id\": \"\(i)\", \"input\": \"\(input)\", \"target\": \(10 * sunny)}")
        }
        let data = path("regress.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: data, contents: Data((lines.joined(separator: "\n") + "\n").utf8)))
        let checkpoint = try fit("regress", data, "regress")
        let x = try explain(checkpoint, data)
        let examples = try XCTUnwrap(x["examples"] as? [[String: Any]])
        for (e, p) in zip(examples, try predictions(checkpoint, data)) {
            let value = try XCTUnwrap(p["prediction"] as? Double)
            XCTAssertEqual(try XCTUnwrap((e["prediction"] as? [Double])?.first), value, accuracy: 1e-9)
            let steps = try XCTUnwrap(e["steps"] as? [[String: Any]])
            XCTAssertEqual(try XCTUnwrap((steps.last?["values"] as? [Double])?.first), value, accuracy: 1e-4 * max(1, abs(value)))
            XCTAssertNotNil(e["target"] as? [Double])
        }
    }

    /// tag: each step's label is rnn predict's, the true tags beside them.
    func testTagStepsAreThePredictedTags() throws {
        let (weeks, _) = try data()
        let checkpoint = try fit("tag", weeks, "tag")
        let x = try explain(checkpoint, weeks)
        XCTAssertEqual(x["task"] as? String, "tag")
        let examples = try XCTUnwrap(x["examples"] as? [[String: Any]])
        XCTAssertEqual(examples.count, 7)
        for (e, p) in zip(examples, try predictions(checkpoint, weeks)) {
            let tags = try XCTUnwrap(p["prediction"] as? [String])
            let steps = try XCTUnwrap(e["steps"] as? [[String: Any]])
            XCTAssertEqual(steps.map { $0["label"] as? String }, tags.map { $0 })
            XCTAssertEqual(try XCTUnwrap(e["probability"] as? Double), try XCTUnwrap(p["probability"] as? Double), accuracy: 1e-12)
            let joint = try steps.reduce(1.0) { $0 * (try XCTUnwrap($1["probability"] as? Double)) }
            XCTAssertEqual(joint, try XCTUnwrap(p["probability"] as? Double), accuracy: 1e-6)
            XCTAssertEqual((e["target"] as? [String])?.count, tags.count)
        }
    }

    /// seq2seq with attention: the output is rnn predict's, each step's weights over the source
    /// sum to 1, and the HTML has the attention section; caption: outputs without weights.
    func testSeq2SeqOutputsAndAttention() throws {
        let addition = try runRNN(["data", "addition", "--count", "200", "--seed", "2"])
        let data = path("addition.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: data, contents: Data(addition.stdout.utf8)))
        let fit = try runRNN(["fit", "--task", "seq2seq", "--data", data, "--hidden", "16", "--epochs", "4", "--lr", "0.01",
                              "--attention", "general", "--seed", "1", "--out", path("s2s")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let checkpoint = path("s2s/best.safetensors")
        let x = try explain(checkpoint, data, ["--max-examples", "30"])
        XCTAssertEqual(x["attention"] as? Bool, true)
        let examples = try XCTUnwrap(x["examples"] as? [[String: Any]])
        XCTAssertEqual(examples.count, 30)
        for (e, p) in zip(examples, try predictions(checkpoint, data)) {
            XCTAssertEqual(e["prediction"] as? String, p["prediction"] as? String)
            let inputs = try XCTUnwrap(e["inputs"] as? [String])
            let outputs = try XCTUnwrap(e["outputs"] as? [[String: Any]])
            XCTAssertFalse(outputs.isEmpty)
            let text = outputs.compactMap { $0["token"] as? String }.filter { $0 != "<eos>" }.joined()
            XCTAssertEqual(text, p["prediction"] as? String)
            var logProbability = 0.0
            for o in outputs {
                let weights = try XCTUnwrap(o["attention"] as? [Double])
                XCTAssertEqual(weights.count, inputs.count)
                XCTAssertEqual(weights.reduce(0, +), 1, accuracy: 1e-5)
                XCTAssertTrue(weights.allSatisfy { $0 >= 0 })
                logProbability += log(try XCTUnwrap(o["probability"] as? Double))
            }
            XCTAssertEqual(logProbability, try XCTUnwrap(p["log_probability"] as? Double), accuracy: 1e-4)
        }
        let out = path("s2s.html")
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--data", data, "--max-examples", "3", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        for id in ["examples", "outputs", "attention"] { XCTAssertTrue(html.contains("<section id=\"\(id)\""), id) }
        XCTAssertEqual(html.components(separatedBy: "<table class=\"heat\">").count - 1, 3)

        let captions = try runRNN(["data", "captions", "--count", "60", "--seed", "2"])
        let captionData = path("captions.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: captionData, contents: Data(captions.stdout.utf8)))
        let captionFit = try runRNN(["fit", "--task", "caption", "--tokens", "word", "--data", captionData, "--hidden", "8",
                                     "--epochs", "1", "--out", path("cap")])
        XCTAssertEqual(captionFit.status, 0, captionFit.stderr)
        let c = try explain(path("cap/best.safetensors"), captionData)
        XCTAssertEqual(c["attention"] as? Bool, false)
        for (e, p) in zip(try XCTUnwrap(c["examples"] as? [[String: Any]]), try predictions(path("cap/best.safetensors"), captionData)) {
            XCTAssertEqual(e["prediction"] as? String, p["prediction"] as? String)
            let outputs = try XCTUnwrap(e["outputs"] as? [[String: Any]])
            XCTAssertTrue(outputs.allSatisfy { $0["attention"] == nil && ($0["probability"] as? Double).map { $0 > 0 && $0 <= 1 } == true })
            XCTAssertNotNil(e["target"] as? String)
        }
    }

    func testHTMLReportSections() throws {
        let (weeks, classify) = try data()
        for (task, data, section) in [("classify", classify, "formation"), ("tag", weeks, "tags")] {
            let checkpoint = try fit(task, data, task)
            let out = path("\(task).html")
            let r = try runRNN(["explain", "--checkpoint", checkpoint, "--data", data, "--max-examples", "3", "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            let html = try String(contentsOfFile: out, encoding: .utf8)
            for id in ["model\"", "examples\"", "\(section)\""] { XCTAssertTrue(html.contains(" id=\"\(id)"), "\(task): \(id)") }
            XCTAssertTrue(html.contains("<script type=\"application/json\" id=\"explain-data\">"))
            XCTAssertTrue(html.contains("document.body.dataset.ready = \"1\""))
            XCTAssertEqual(html.components(separatedBy: "<tr><td>").count - 1, 3, task)
            XCTAssertFalse(html.contains("http://") || html.contains("https://"), task)
        }
    }

    func testRefusalsAreOneLine() throws {
        let (_, classify) = try data()
        let checkpoint = try fit("classify", classify, "c")
        let bad = path("bad.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data("{\"input\": \"sunny\"}\nnot json\n".utf8)))
        let out = path("e.html")
        let cases: [(String, [String], String)] = [
            ("bad line", ["--checkpoint", checkpoint, "--data", bad, "--out", out], "bad.jsonl:2"),
            ("max examples 0", ["--checkpoint", checkpoint, "--data", classify, "--max-examples", "0", "--out", out], "max-examples '0'"),
        ]
        for (name, arguments, needle) in cases {
            let r = try runRNN(["explain"] + arguments)
            XCTAssertTrue((1...127).contains(r.status), "\(name): status \(r.status)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(name): \(r.stderr.debugDescription)")
            XCTAssertTrue(r.stderr.contains(needle), "\(name): \(r.stderr) lacks \(needle)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), name)
        }
        // --on-error skip explains the readable lines, as rnn predict.
        let r = try runRNN(["explain", "--checkpoint", checkpoint, "--data", bad, "--on-error", "skip", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let x = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((x["examples"] as? [Any])?.count, 1)
        XCTAssertEqual((x["skipped"] as? [Any])?.count, 1)
    }
}
