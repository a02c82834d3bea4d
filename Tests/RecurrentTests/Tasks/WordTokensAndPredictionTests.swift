import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Word tokens as a user expects them (lowercased, punctuation apart; tagging keeps its steps;
/// old checkpoints keep their old tokens), and typed predictions in memory with the share of
/// unknown tokens.
final class WordTokensAndPredictionTests: XCTestCase {
    func testWordsAndPunctuation() {
        XCTAssertEqual(Tokenization.wordsAndPunctuation("Don't stop, ROMEO!"), ["Don", "'", "t", "stop", ",", "ROMEO", "!"])
        XCTAssertEqual(Tokenization.wordsAndPunctuation("  naïve café—2024 "), ["naïve", "café", "—", "2024"])
        XCTAssertEqual(Tokenization.wordsAndPunctuation(""), [])
    }

    func testSpecTokensAndTheirJSON() throws {
        let examples = [Example(input: .text("Good, GOOD film."), target: .string("pos"), line: 1),
                        Example(input: .text("bad"), target: .string("neg"), line: 2)]
        let spec = try TaskSpecification.build(kind: .classify, examples: examples, path: "x", tokenization: .word)
        XCTAssertEqual(spec.tokens("Good, GOOD film."), ["good", ",", "good", "film", "."])
        XCTAssertEqual(spec.inputVocabulary?.tokens, ["<unk>", ",", ".", "bad", "film", "good"])
        let cased = try TaskSpecification.build(kind: .classify, examples: examples, path: "x", tokenization: .word, keepCase: true)
        XCTAssertEqual(cased.tokens("Good, GOOD"), ["Good", ",", "GOOD"])
        // Tagging keeps whitespace steps (its labels count them), lowercased.
        let tag = try TaskSpecification.build(kind: .tag, examples: [Example(input: .text("Pasta, sunny"), target: .labels(["a", "b"]))],
                                              path: "x", tokenization: .word)
        XCTAssertEqual(tag.tokens("Pasta, sunny"), ["pasta,", "sunny"])
        // The keys round-trip; a spec without them (an older checkpoint) splits on whitespace only.
        let back = try TaskSpecification(json: spec.json, path: "x")
        XCTAssertEqual(back.tokens("Good, film"), ["good", ",", "film"])
        let legacy = try TaskSpecification(json: spec.json.replacingOccurrences(of: "\"lowercase\": true, \"split_punctuation\": true, ", with: ""),
                                           path: "x")
        XCTAssertFalse(legacy.lowercase || legacy.splitPunctuation)
        XCTAssertEqual(legacy.tokens("Good, film"), ["Good,", "film"])
    }

    func testTypedPredictionsInMemoryWithUnknownShare() throws {
        let dir = TemporaryFolder()
        let lines = (0..<120).map { i in
            JSONText.object([("input", JSONText.string(i % 2 == 0 ? "a fine, good day" : "an awful, bad day")),
                             ("target", JSONText.string(i % 2 == 0 ? "pos" : "neg"))])
        }
        var o = TaskTrainingOptions(kind: .classify)
        o.tokenization = .word
        (o.hiddenSize, o.embeddingSize, o.epochs, o.learningRate) = (8, 4, 6, 1e-2)
        _ = try TaskTrainer(data: dir.write("train.jsonl", lines.joined(separator: "\n")), validation: nil, options: o,
                            output: dir.file("run")).run()
        let predictor = try TaskPredictor(checkpoint: dir.file("run/best.safetensors"))
        let outputs = try predictor.predict([
            Example(id: "known", input: .text("A GOOD, fine day")),
            Example(id: "unknown", input: .text("xyzzy plugh")),
            Example(id: "numbers", input: .sequence([[1, 2]])),
        ])
        XCTAssertEqual(outputs.map(\.id), ["known", "unknown", "numbers"])
        XCTAssertEqual(outputs[0].unknownRate, 0)
        XCTAssertEqual(predictor.describe(try XCTUnwrap(outputs[0].prediction)), "pos")
        XCTAssertEqual(outputs[1].unknownRate, 1)
        XCTAssertNotNil(outputs[1].prediction)
        XCTAssertNil(outputs[2].prediction)
        XCTAssertTrue(outputs[2].error?.contains("numeric") == true, outputs[2].error ?? "")
        let json = try JSONSerialization.jsonObject(with: Data(predictor.jsonLine(outputs[1]).utf8)) as? [String: Any]
        XCTAssertEqual(json?["unknown"] as? Double, 1)
        let evaluation = try predictor.evaluate(data: dir.write("test.jsonl", lines.prefix(10).joined(separator: "\n")))
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: evaluation.metrics)["unknown_rate"], 0)
    }
}
