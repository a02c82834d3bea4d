import Foundation
import Recurrent
import XCTest

/// Checkpoints written by the rnn before the one Trainer and Checkpoint (commit 24cb9c2;
/// `Tests/RecurrentTests/Fixtures/make_legacy_fixtures.sh` made them): they still score,
/// sample, predict, and a character run resumes to the same tensors the old build wrote.
final class LegacyCheckpointTests: ScratchFolderTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RecurrentTests/Fixtures/legacy").path

    func legacy(_ name: String) -> String { (Self.folder as NSString).appendingPathComponent(name) }

    func expected() throws -> [String: Any] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: legacy("expected.json")))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testOldCheckpointsScoreSampleAndPredictAsBefore() throws {
        let e = try expected()
        let score = try runRNN(["score", "--checkpoint", legacy("char-best.safetensors"), "--text", legacy("text.txt"), "--json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let scored = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(scored["nats_per_char"] as? Double, (e["score"] as? [String: Any])?["nats_per_char"] as? Double)
        let sample = try runRNN(["sample", "--checkpoint", legacy("char-best.safetensors"), "--length", "40", "--prime", "to",
                                 "--seed", "1"])
        XCTAssertEqual(sample.stdout, e["sample"] as? String)
        // Predictions as the old build wrote them, byte for byte, once the field added since
        // (`"unknown"`, the share of unknown tokens) is taken out of each line.
        let tag = try runRNN(["predict", "--checkpoint", legacy("tag-best.safetensors"), "--data", legacy("weeks.jsonl")])
        XCTAssertEqual(withoutUnknownShare(tag.stdout), e["tag_predictions"] as? String)
        let seq2seq = try runRNN(["predict", "--checkpoint", legacy("seq2seq-best.safetensors"), "--data", legacy("addition.jsonl")])
        XCTAssertEqual(withoutUnknownShare(seq2seq.stdout), e["seq2seq_predictions"] as? String)
    }

    /// `lines` with each line's trailing `, "unknown": X` taken out.
    func withoutUnknownShare(_ lines: String) -> String {
        lines.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let r = line.range(of: ", \"unknown\": ", options: .backwards) else { return String(line) }
            return String(line[..<r.lowerBound]) + "}"
        }.joined(separator: "\n")
    }

    func testAnOldCharacterRunResumesToTheTensorsTheOldBuildWrote() throws {
        let run = path("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        for (from, to) in [("char-last.safetensors", "last.safetensors"), ("char-best.safetensors", "best.safetensors"),
                           ("char-metrics.jsonl", "metrics.jsonl")] {
            try FileManager.default.copyItem(atPath: legacy(from), toPath: (run as NSString).appendingPathComponent(to))
        }
        let resumed = try runRNN(["train", "--resume", run, "--text", legacy("text.txt"), "--steps", "18"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at step 12"), resumed.stdout)
        let ours = try SafetensorsFile(contentsOf: (run as NSString).appendingPathComponent("last.safetensors"))
        let theirs = try SafetensorsFile(contentsOf: legacy("char-resumed-last.safetensors"))
        XCTAssertEqual(Set(ours.tensors.map(\.name)), Set(theirs.tensors.map(\.name)))
        for t in theirs.tensors {
            if t.dtype == .u64 {
                XCTAssertEqual(try ours.integers(t.name), try theirs.integers(t.name), t.name)
            } else {
                XCTAssertEqual(try ours.floats(t.name).map(\.bitPattern), try theirs.floats(t.name).map(\.bitPattern), t.name)
            }
        }
    }

    func testAnOldFitRunSaysItCannotBeResumed() throws {
        let run = path("fit")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: legacy("tag-last.safetensors"), toPath: (run as NSString).appendingPathComponent("last.safetensors"))
        let r = try runRNN(["fit", "--resume", run])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no training state to resume from") && r.stderr.contains("rnn predict"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
    }
}
