import Foundation
import XCTest

/// `rnn train` and `rnn fit` on a learning rate that overflows: one line naming the step, a
/// non-zero status, and a last checkpoint (if any) that still loads.
final class DivergenceCLITests: ScratchFolderTestCase {
    func testDivergingRunsStopWithOneLineAndKeepALoadableCheckpoint() throws {
        _ = FileManager.default.createFile(atPath: path("text.txt"),
                                       contents: Data(String(repeating: "to be or not to be, that is the question.\n", count: 30).utf8))
        let lines = (0..<40).map { k in "{\"input\": \"\(String(repeating: "ab", count: k % 3 + 1))\", \"target\": \"\(k % 2 == 0 ? "x" : "y")\"}" }
        _ = FileManager.default.createFile(atPath: path("data.jsonl"), contents: Data(lines.joined(separator: "\n").utf8))

        let train = try runRNN(["train", "--text", path("text.txt"), "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "10",
                                "--steps", "30", "--eval-every", "1", "--optimizer", "sgd", "--lr", "1e38", "--clip", "0",
                                "--out", path("run")])
        let fit = try runRNN(["fit", "--task", "classify", "--data", path("data.jsonl"), "--hidden", "8", "--epochs", "5",
                              "--lr", "3e38", "--out", path("fit")])
        for (name, r, checkpoint, check) in [("train", train, path("run/last.safetensors"), ["sample", "--length", "2", "--checkpoint"]),
                                             ("fit", fit, path("fit/last.safetensors"), ["predict", "--data", path("data.jsonl"), "--checkpoint"])] {
            XCTAssertFalse(r.signaled, name)
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(name): \(r.stderr)")
            XCTAssertNotNil(r.stderr.range(of: #"^error: training diverged at step \d+: loss is "#, options: .regularExpression),
                            "\(name): \(r.stderr)")
            if FileManager.default.fileExists(atPath: checkpoint) {
                let loaded = try runRNN(check + [checkpoint])
                XCTAssertEqual(loaded.status, 0, "\(name): the kept checkpoint does not load: \(loaded.stderr)")
            }
            let folder = (checkpoint as NSString).deletingLastPathComponent
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.contains(".tmp-") } ?? [], [])
        }
    }
}
