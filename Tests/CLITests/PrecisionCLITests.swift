import Foundation
import XCTest
import Recurrent
import RecurrentApps

/// `--precision fp32|bf16|int8|w8a8` on `rnn sample`, `rnn score` and `rnn bench`.
final class PrecisionCLITests: ScratchFolderTestCase {
    /// A 2-layer LSTM checkpoint with seeded random weights.
    func checkpoint() throws -> String {
        let config = CharModelConfiguration(cell: .lstm, vocabulary: Vocabulary(text: "abcdefgh .\n"), embeddingSize: 8,
                                            hiddenSize: 48, layers: 2)
        let model = try CharLanguageModel(configuration: config, seed: 2)
        let file = path("model.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: SafetensorsFile.encode(model.contractEntries(),
                                                                                                  metadata: ["config": config.json])))
        return file
    }

    func testSampleAndScoreTakeAPrecision() throws {
        let model = try checkpoint()
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data(String(repeating: "a bad cafe. dead beef.\n", count: 40).utf8))
        var nats: [String: Double] = [:]
        for precision in ["fp32", "bf16", "int8", "w8a8"] {
            let a = try runRNN(["sample", "--checkpoint", model, "--length", "60", "--prime", "ab", "--seed", "3", "--precision", precision])
            let b = try runRNN(["sample", "--checkpoint", model, "--length", "60", "--prime", "ab", "--seed", "3", "--precision", precision])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(a.stdout, b.stdout, precision)
            XCTAssertEqual(a.stdout.unicodeScalars.count, 2 + 60 + 1, precision)
            let score = try runRNN(["score", "--checkpoint", model, "--text", text, "--precision", precision, "--json"])
            XCTAssertEqual(score.status, 0, score.stderr)
            let object = try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any]
            nats[precision] = try XCTUnwrap(object?["nats_per_char"] as? Double)
        }
        let plain = try runRNN(["sample", "--checkpoint", model, "--length", "60", "--prime", "ab", "--seed", "3"])
        let fp32 = try runRNN(["sample", "--checkpoint", model, "--length", "60", "--prime", "ab", "--seed", "3", "--precision", "fp32"])
        XCTAssertEqual(plain.stdout, fp32.stdout)
        for precision in ["bf16", "int8", "w8a8"] {
            XCTAssertEqual(nats[precision]!, nats["fp32"]!, accuracy: 0.01 * nats["fp32"]!, precision)
        }
    }

    func testBadPrecisionIsOneLineAndNonZero() throws {
        let model = try checkpoint()
        for arguments in [["sample", "--checkpoint", model, "--precision", "fp16"],
                          ["score", "--checkpoint", model, "--text", model, "--precision", "fp16"],
                          ["bench", "--case", "rnn-100x1-b1-t25", "--precision", "fp16"],
                          ["sample", "--checkpoint", model, "--precision", ""]] {
            let r = try runRNN(arguments)
            XCTAssertFalse(r.signaled)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertLessThan(r.status, 128)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("fp32, bf16, int8 or w8a8"), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty, r.stdout)
        }
    }

    func testBenchReportsThePrecision() throws {
        let r = try runRNN(["bench", "--case", "rnn-100x1-b1-t25", "--seconds", "0.05", "--tokens", "20", "--precision", "int8", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["precision"] as? String, "int8")
        XCTAssertGreaterThan(object?["gen_tok_s"] as? Double ?? 0, 0)
    }
}
