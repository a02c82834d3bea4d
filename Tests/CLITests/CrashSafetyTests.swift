import Foundation
import Recurrent
import RecurrentApps
import XCTest

/// A killed training loses at most the steps since its last checkpoint, and leaves nothing
/// half-written: `rnn train` is killed with SIGKILL at random moments (seeded), and every time
/// its last checkpoint must load and resume.
final class CrashSafetyTests: XCTestCase {
    func testSIGKILLAtRandomMomentsLeavesALoadableResumableCheckpoint() throws {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        var text = ""
        for i in 0..<500 { text += words[(i * 7 + i / 3) % words.count] + (i % 6 == 5 ? ".\n" : " ") }
        let corpus = (dir as NSString).appendingPathComponent("corpus.txt")
        _ = FileManager.default.createFile(atPath: corpus, contents: Data(text.utf8))
        let run = (dir as NSString).appendingPathComponent("run")
        let last = (run as NSString).appendingPathComponent("last.safetensors")

        var seed: UInt64 = 0x5EED
        func nextDelay() -> Double {   // SplitMix64: 20 ms ... 600 ms
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return 0.02 + Double((z ^ (z >> 31)) % 580) / 1000
        }
        func savedStep() throws -> Int {
            let file = try SafetensorsFile(contentsOf: last)
            let training = try XCTUnwrap(file.metadata["training"])
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(training.utf8)) as? [String: Any])
            return try XCTUnwrap(object["step"] as? Int)
        }

        var step = 0, kills = 0, checked = 0
        for round in 0..<20 {
            let process = try ChildProcess(FileManager.default.fileExists(atPath: last)
                ? ["train", "--resume", run, "--steps", "1000000"]
                : ["train", "--text", corpus, "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "10",
                   "--steps", "1000000", "--eval-every", "1", "--out", run])
            Thread.sleep(forTimeInterval: nextDelay())
            process.signal(SIGKILL)
            if process.wait().signaled { kills += 1 }
            guard FileManager.default.fileExists(atPath: last) else {
                XCTAssertEqual(step, 0, "round \(round): the checkpoint disappeared")
                continue
            }
            // It loads, and it never goes back: at most the steps since it was written are lost.
            XCTAssertNoThrow(try CharLanguageModel(contentsOf: last), "round \(round)")
            let saved = try savedStep()
            XCTAssertGreaterThanOrEqual(saved, step, "round \(round): the checkpoint went back")
            // It continues: one more step from exactly where it stopped.
            let resumed = try runRNN(["train", "--resume", run, "--steps", "\(saved + 1)"])
            XCTAssertEqual(resumed.status, 0, "round \(round): \(resumed.stderr)")
            XCTAssertTrue(resumed.stdout.contains("resuming at step \(saved)"), "round \(round): \(resumed.stdout)")
            step = try savedStep()
            XCTAssertEqual(step, saved + 1, "round \(round)")
            checked += 1
            // The resumed run cleaned up after the killed one: no temporary file, and metrics.jsonl
            // holds whole lines with increasing steps up to the checkpoint's.
            let entries = try FileManager.default.contentsOfDirectory(atPath: run)
            XCTAssertEqual(entries.filter { $0.contains(".tmp-") }, [], "round \(round)")
            let metrics = try String(contentsOfFile: (run as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            XCTAssertTrue(metrics.hasSuffix("\n"), "round \(round)")
            let steps = metrics.split(separator: "\n").map { line -> Int in
                let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return o?["step"] as? Int ?? -1
            }
            XCTAssertEqual(steps, steps.sorted(), "round \(round): \(metrics)")
            XCTAssertEqual(Set(steps).count, steps.count, "round \(round): repeated steps")
            XCTAssertFalse(steps.contains(-1), "round \(round): a broken line in \(metrics)")
            XCTAssertEqual(steps.last, step, "round \(round)")
        }
        XCTAssertGreaterThanOrEqual(kills, 15, "most rounds should have been killed mid-run")
        XCTAssertGreaterThanOrEqual(checked, 15, "most rounds should have had a checkpoint to check")
    }
}
