import Foundation
import XCTest

/// `rnn import` and `rnn inspect` on state dicts saved by PyTorch
/// (Tests/RecurrentTests/Fixtures/make_import_fixtures.py).
final class ImportCLITests: ScratchFolderTestCase {

    func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("RecurrentTests/Fixtures/\(name)").path
    }

    func testImportThenScoreGivesPyTorchsLoss() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture("import_expected.json")))) as! [String: Any]
        let wlm = expected["wlm"] as! [String: Any]
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data((wlm["text"] as! String).utf8))
        let out = path("model.safetensors")
        let r = try runRNN(["import", fixture("import_wlm.safetensors"), "--vocab-from", text, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("2×10 gru character model"), r.stdout)
        let score = try runRNN(["score", "--checkpoint", out, "--text", text, "--json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let nats = (try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any])?["nats_per_char"] as? Double
        let torch = wlm["nats_per_char"] as! Double
        XCTAssertEqual(nats ?? 0, torch, accuracy: 1e-5 * torch)
        // The imported checkpoint is ours: it samples.
        let sample = try runRNN(["sample", "--checkpoint", out, "--length", "20"])
        XCTAssertEqual(sample.status, 0, sample.stderr)
    }

    func testInspectListsTheModulesOfAStateDict() throws {
        let r = try runRNN(["inspect", fixture("import_tagger.safetensors")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("use: a PyTorch nn.LSTM 'encoder': 2 layers, bidirectional, input 5, hidden 6"), r.stdout)
        let wlm = try runRNN(["inspect", fixture("import_wlm.safetensors")])
        XCTAssertTrue(wlm.stdout.contains("rnn import"), wlm.stdout)
    }

    func testRefusals() throws {
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data("abc".utf8))
        let cases: [([String], String)] = [
            (["import", fixture("import_wlm.safetensors"), "--out", path("a.safetensors")], "--vocab-from"),
            (["import", fixture("import_wlm.safetensors"), "--vocab-from", text, "--out", path("b.safetensors")], "expected 31"),
            (["import", fixture("import_tagger.safetensors"), "--vocab-from", text, "--out", path("c.safetensors")], "bidirectional"),
            (["import", fixture("import_wlm.safetensors"), "--vocab-from", text, "--rnn", "lstm", "--out", path("d.safetensors")], "'rnn'"),
            (["import", fixture("import_gru_bare.safetensors"), "--vocab-from", text, "--out", path("e.safetensors")], "no embedding"),
            (["import", fixture("import_wlm.safetensors"), "--vocab-from", fixture("roundtrip_ours.safetensors"), "--cell", "lstm",
              "--out", path("f.safetensors")], "expected gru"),
        ]
        // Never the file it reads, never into a folder that is not there.
        let copy = path("copy.safetensors")
        try FileManager.default.copyItem(atPath: fixture("import_wlm.safetensors"), toPath: copy)
        let original = FileManager.default.contents(atPath: copy)
        let more: [([String], String)] = [
            (["import", copy, "--vocab-from", fixture("roundtrip_ours.safetensors"), "--out", copy], "other than the input"),
            (["import", copy, "--vocab-from", fixture("roundtrip_ours.safetensors"), "--out", path("nowhere/g.safetensors")],
             "does not exist; create it first"),
            (["import", copy, "--vocab-from", fixture("roundtrip_ours.safetensors"), "--out", dir], "is a folder"),
        ]
        for (arguments, message) in cases + more {
            let r = try runRNN(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr) should say \(message)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: copy), original, "the input is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["copy.safetensors", "text.txt"],
                       "no output left behind")
    }
}
