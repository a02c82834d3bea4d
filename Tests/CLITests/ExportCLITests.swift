import Foundation
import Recurrent
import RecurrentApps
import XCTest

/// `rnn export` as a user runs it: one line on success, one line on standard error for each
/// refusal, and never a partial .onnx file.
final class ExportCLITests: ScratchFolderTestCase {

    /// A 2-layer LSTM character model with seeded weights, written under the checkpoint contract
    /// (or without its config metadata).
    func characterCheckpoint(config: Bool = true) throws -> String {
        let c = CharModelConfiguration(cell: .lstm, vocabulary: Vocabulary(text: "to be or not"), embeddingSize: 3,
                                       hiddenSize: 4, layers: 2)
        let model = try CharLanguageModel(configuration: c, seed: 7)
        let file = path(config ? "char.safetensors" : "no-config.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: SafetensorsFile.encode(model.contractEntries(),
                                                                                                   metadata: config ? ["config": c.json] : [:])))
        return file
    }

    func testExportWritesTheLibrarysBytes() throws {
        let checkpoint = try characterCheckpoint()
        let out = path("model.onnx")
        let r = try runRNN(["export", "--checkpoint", checkpoint, "--onnx", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
        XCTAssertTrue(r.stdout.hasPrefix("wrote \(out): 2×4 lstm, 7 characters, ONNX opset 17, "), r.stdout)
        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertEqual(written, try CharLanguageModel(contentsOf: checkpoint).onnxModel().serialized())
        XCTAssertTrue(r.stdout.hasSuffix(", \(written.count) bytes\n"), r.stdout)
        // Again, over the first file: the same bytes, and no temporary file left beside it.
        let again = try runRNN(["export", "--checkpoint", checkpoint, "--onnx", out])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), written)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
                       [URL(fileURLWithPath: checkpoint).lastPathComponent, "model.onnx"])
    }

    func testRefusalsAreOneLineAndLeaveNoFile() throws {
        let good = try characterCheckpoint()
        let bare = try characterCheckpoint(config: false)
        let text = path("notes.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: text, contents: Data("not a checkpoint\n".utf8)))
        let task = try tinyTaskCheckpoint()

        let cases: [(String, [String], String)] = [
            ("missing checkpoint", ["--checkpoint", path("missing.safetensors"), "--onnx", path("a.onnx")], "missing.safetensors"),
            ("not a checkpoint", ["--checkpoint", text, "--onnx", path("b.onnx")], "notes.txt"),
            ("task checkpoint", ["--checkpoint", task, "--onnx", path("c.onnx")], "only character-model checkpoints export to ONNX"),
            ("no config", ["--checkpoint", bare, "--onnx", path("d.onnx")], "only character-model checkpoints export to ONNX"),
            ("output folder missing", ["--checkpoint", good, "--onnx", path("nowhere/e.onnx")], "does not exist; create it first"),
            ("output is a folder", ["--checkpoint", good, "--onnx", dir], "is a folder"),
            ("output is the checkpoint", ["--checkpoint", good, "--onnx", good], "other than the input"),
            ("no --onnx", ["--checkpoint", good], "--onnx"),
        ]
        let before = try FileManager.default.subpathsOfDirectory(atPath: dir).sorted()
        let goodBytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for (name, arguments, needle) in cases {
            let r = try runRNN(["export"] + arguments)
            XCTAssertFalse(r.signaled, "\(name) died of a signal")
            XCTAssertTrue((1...127).contains(r.status), "\(name): status \(r.status)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(name): \(r.stderr.debugDescription)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(name): \(r.stderr) lacks \(needle)")
            XCTAssertEqual(r.stdout, "", name)
        }
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: dir).sorted(), before, "files left behind")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: good)), goodBytes, "the checkpoint changed")
    }
}
