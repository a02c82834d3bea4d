import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// fit → predict → evaluate for each many-to-one and aligned task, on small generated data.
final class SequenceTaskTests: XCTestCase {
    func options(_ kind: SequenceTaskKind, epochs: Int = 8) -> TaskTrainingOptions {
        var o = TaskTrainingOptions(kind: kind)
        o.hiddenSize = 16
        o.embeddingSize = 8
        o.epochs = epochs
        o.batch = 16
        o.learningRate = 1e-2
        return o
    }

    /// Sentiment-like: does the text contain more 'a' than 'b'? (many to one, text input).
    func classificationLines(_ n: Int, seed: UInt64) -> [String] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            let length = 3 + rng.nextInt(below: 8)
            let s = String((0..<length).map { _ in rng.nextInt(below: 2) == 0 ? Character("a") : "b" })
            let label = s.filter { $0 == "a" }.count > s.filter { $0 == "b" }.count ? "pos" : "neg"
            return JSONText.object([("id", JSONText.string("e\(i)")), ("input", JSONText.string(s)), ("target", JSONText.string(label))])
        }
    }

    func testClassifyFitPredictEvaluate() throws {
        let dir = TemporaryFolder()
        let data = dir.write("train.jsonl", classificationLines(400, seed: 1).joined(separator: "\n"))
        let test = dir.write("test.jsonl", classificationLines(100, seed: 2).joined(separator: "\n"))
        var o = options(.classify, epochs: 12)
        o.bidirectional = true
        o.pooling = .mean
        let summary = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        XCTAssertEqual(summary.trainingExamples, 360)
        XCTAssertEqual(summary.validationExamples, 40)
        let predictor = try TaskPredictor(checkpoint: dir.file("run/best.safetensors"))
        let result = try predictor.evaluate(data: test)
        let metrics = Dictionary(uniqueKeysWithValues: result.metrics)
        XCTAssertGreaterThan(metrics["accuracy"]!, 0.85, "\(result.metrics)")
        XCTAssertGreaterThan(metrics["macro_f1"]!, 0.8)
        XCTAssertEqual(result.confusion!.flatMap { $0 }.reduce(0, +), 100)
        let (lines, _) = try predictor.predict(data: test)
        XCTAssertEqual(lines.count, 100)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(first?["id"] as? String, "e0")
        XCTAssertTrue(["pos", "neg"].contains(first?["prediction"] as? String ?? ""))
        XCTAssertGreaterThanOrEqual(first?["probability"] as? Double ?? 0, 0.5)
    }

    func testRegressOnNumericSequences() throws {
        // The mean of a sequence of (x, noise) steps, times 10 plus 3.
        var rng = SeededGenerator(seed: 3)
        let lines = (0..<300).map { _ -> String in
            let steps = (0..<(2 + rng.nextInt(below: 6))).map { _ in [rng.nextUniform(), rng.nextUniform()] }
            let mean = steps.map { Double($0[0]) }.reduce(0, +) / Double(steps.count)
            return JSONText.object([("input", JSONText.array(steps.map { JSONText.array($0.map { "\($0)" }) })),
                                    ("target", "\(10 * mean + 3)")])
        }
        let dir = TemporaryFolder()
        let data = dir.write("train.jsonl", lines.joined(separator: "\n"))
        var o = options(.regress, epochs: 15)
        o.pooling = .mean
        _ = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        let result = try TaskPredictor(checkpoint: dir.file("run/best.safetensors")).evaluate(data: data)
        let m = Dictionary(uniqueKeysWithValues: result.metrics)
        XCTAssertLessThan(m["mse"]!, m["baseline_mse"]! / 4, "\(result.metrics)")
        XCTAssertLessThan(m["mae"]!, m["baseline_mae"]!)
    }

    func testTagTheRoommateWeeks() throws {
        let dir = TemporaryFolder()
        let data = dir.write("weeks.jsonl", ExampleData.roommate.lines(count: 300, seed: 4).joined(separator: "\n"))
        var o = options(.tag, epochs: 10)
        o.tokenization = .word
        _ = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        let test = dir.write("test.jsonl", ExampleData.roommate.lines(count: 100, seed: 5).joined(separator: "\n"))
        let result = try TaskPredictor(checkpoint: dir.file("run/best.safetensors")).evaluate(data: test)
        XCTAssertGreaterThan(Dictionary(uniqueKeysWithValues: result.metrics)["accuracy"]!, 0.95, "\(result.metrics)")
        for name in ["best.safetensors", "last.safetensors", "metrics.jsonl", "loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("run/\(name)")), name)
        }
        // Each line's training seconds: part of the elapsed seconds, growing with the steps.
        let records = try String(contentsOfFile: dir.file("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(records.count, 10)
        let train = records.map { $0["train_seconds"] as! Double }, elapsed = records.map { $0["elapsed_seconds"] as! Double }
        XCTAssertGreaterThan(train[0], 0)
        for i in records.indices {
            XCTAssertLessThanOrEqual(train[i], elapsed[i] + 0.001)
            if i > 0 { XCTAssertGreaterThan(train[i], train[i - 1]) }
        }
    }

    func testCaptionFitPredictEvaluate() throws {
        let dir = TemporaryFolder()
        let data = dir.write("captions.jsonl", ExampleData.captions.lines(count: 400, seed: 6).joined(separator: "\n"))
        var o = options(.caption, epochs: 8)
        o.tokenization = .word
        o.hiddenSize = 24
        _ = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        let test = dir.write("test.jsonl", ExampleData.captions.lines(count: 60, seed: 7).joined(separator: "\n"))
        let predictor = try TaskPredictor(checkpoint: dir.file("run/best.safetensors"))
        let m = Dictionary(uniqueKeysWithValues: try predictor.evaluate(data: test).metrics)
        XCTAssertGreaterThan(m["token_accuracy"]!, 0.9, "\(m)")
        XCTAssertGreaterThan(m["bleu"]!, 0.8, "\(m)")
        let (lines, _) = try predictor.predict(data: test, beam: 3)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual((first?["prediction"] as? String)?.split(separator: " ").count, 4)
        XCTAssertLessThanOrEqual(first?["log_probability"] as? Double ?? 1, 0)
    }

    func testSeq2SeqWithAttentionLearnsToReverse() throws {
        var rng = SeededGenerator(seed: 8)
        let lines = (0..<600).map { _ -> String in
            let s = String((0..<(2 + rng.nextInt(below: 3))).map { _ in Character(String(rng.nextInt(below: 5))) })
            return JSONText.object([("input", JSONText.string(s)), ("target", JSONText.string(String(s.reversed())))])
        }
        let dir = TemporaryFolder()
        let data = dir.write("reverse.jsonl", lines.joined(separator: "\n"))
        var o = options(.seq2seq, epochs: 12)
        o.attention = "dot"
        o.hiddenSize = 32
        o.bidirectional = true
        _ = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        let result = try TaskPredictor(checkpoint: dir.file("run/best.safetensors")).evaluate(data: data)
        let m = Dictionary(uniqueKeysWithValues: result.metrics)
        XCTAssertGreaterThan(m["exact_match"]!, 0.8, "\(m)")
        XCTAssertGreaterThan(m["bleu"]!, 0.5)
        let beam = Dictionary(uniqueKeysWithValues: try TaskPredictor(checkpoint: dir.file("run/best.safetensors"))
            .evaluate(data: data, beam: 4).metrics)
        XCTAssertGreaterThan(beam["exact_match"]!, 0.8)
    }

    func testBadDataIsReportedWithFileAndLine() throws {
        let dir = TemporaryFolder()
        let good = JSONText.object([("input", JSONText.string("ab")), ("target", JSONText.string("x"))])
        let cases: [(String, String)] = [
            ("{not json", "bad.jsonl:2: not valid JSON"),
            ("[1, 2]", "bad.jsonl:2: not a JSON object"),
            ("{\"target\": \"x\"}", "bad.jsonl:2: no \"input\""),
            ("{\"input\": \"\", \"target\": \"x\"}", "bad.jsonl:2: \"input\" is empty"),
            ("{\"input\": \"ab\"}", "bad.jsonl:2: no \"target\""),
            ("{\"input\": \"ab\", \"target\": 3}", "bad.jsonl:2: target is a number, the first example's is a string"),
            ("{\"input\": [[1, 2], [3]], \"target\": \"x\"}", "bad.jsonl:2: \"input\" step 1 has 1 features"),
            ("{\"input\": true, \"target\": \"x\"}", "bad.jsonl:2: \"input\" must be"),
        ]
        for (line, message) in cases {
            let path = dir.write("bad.jsonl", good + "\n" + line + "\n" + good)
            XCTAssertThrowsError(try JSONLDataset(contentsOf: path, requireTarget: true)) {
                XCTAssertTrue("\($0)".hasSuffix(message + " (use --on-error skip to skip bad lines)") || "\($0)".contains(message), "\($0)")
            }
            let skipped = try JSONLDataset(contentsOf: path, requireTarget: true, onError: .skip)
            XCTAssertEqual(skipped.examples.count, 2, line)
            XCTAssertEqual(skipped.skipped.map(\.line), [2], line)
        }
        // Feature counts must agree across examples.
        let mixed = dir.write("mixed.jsonl", "{\"input\": [[1, 2]], \"target\": 1}\n{\"input\": [[1, 2, 3]], \"target\": 2}")
        XCTAssertThrowsError(try JSONLDataset(contentsOf: mixed, requireTarget: true)) {
            XCTAssertTrue("\($0)".contains("mixed.jsonl:2: has 3 features per step, the first example has 2"), "\($0)")
        }
    }

    func testPredictTimeProblemsAreRefused() throws {
        let dir = TemporaryFolder()
        let data = dir.write("train.jsonl", classificationLines(60, seed: 1).joined(separator: "\n"))
        _ = try TaskTrainer(data: data, validation: nil, options: options(.classify, epochs: 1), output: dir.file("run")).run()
        let predictor = try TaskPredictor(checkpoint: dir.file("run/last.safetensors"))
        let unseen = dir.write("unseen.jsonl", "{\"input\": \"ab\", \"target\": \"maybe\"}")
        XCTAssertThrowsError(try predictor.evaluate(data: unseen)) {
            XCTAssertTrue("\($0)".contains("unseen.jsonl:1: label 'maybe' was never seen in training"), "\($0)")
        }
        let numeric = dir.write("numeric.jsonl", "{\"input\": [[1, 2]]}")
        XCTAssertThrowsError(try predictor.predict(data: numeric)) {
            XCTAssertTrue("\($0)".contains("numeric sequence"), "\($0)")
        }
        // A character-model checkpoint is not a task checkpoint.
        let config = CharModelConfiguration(cell: .gru, vocabulary: Vocabulary(text: "ab"), embeddingSize: 2, hiddenSize: 2, layers: 1)
        let lm = try CharLanguageModel(configuration: config, seed: 1)
        let path = dir.file("lm.safetensors")
        _ = FileManager.default.createFile(atPath: path, contents: SafetensorsFile.encode(lm.contractEntries(), metadata: ["config": config.json]))
        XCTAssertThrowsError(try TaskPredictor(checkpoint: path)) {
            XCTAssertTrue("\($0)".contains("a character model from rnn train, not a task model: use rnn sample or rnn score"), "\($0)")
        }
        // A classification needs two labels; a refused run leaves nothing behind.
        let one = dir.write("one.jsonl", (0..<20).map { _ in "{\"input\": \"ab\", \"target\": \"x\"}" }.joined(separator: "\n"))
        XCTAssertThrowsError(try TaskTrainer(data: one, validation: nil, options: options(.classify), output: dir.file("r2")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("r2")))
    }

    func testBLEU() {
        XCTAssertEqual(corpusBLEU(hypotheses: [[1, 2, 3, 4, 5]], references: [[1, 2, 3, 4, 5]]), 1, accuracy: 1e-12)
        XCTAssertEqual(corpusBLEU(hypotheses: [[1, 2]], references: [[3, 4]]), 0)
        let partial = corpusBLEU(hypotheses: [[1, 2, 3, 4, 9, 6]], references: [[1, 2, 3, 4, 5, 6]])
        // p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3, no brevity penalty.
        XCTAssertEqual(partial, pow(5.0 / 6 * 3 / 5 * 2 / 4 * 1 / 3, 0.25), accuracy: 1e-12)
    }
}
