import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// A training whose loss (or whose weights) stop being finite stops, names the step, and keeps
/// the last good checkpoint: byte for byte, loadable, resumable.
final class DivergenceTests: XCTestCase {
    var dir = ""

    override func setUp() {
        dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-diverge-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    func contents(_ folder: String) -> [String: Data] {
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            files[name] = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name))
        }
        return files
    }

    func divergedStep(_ error: Error) -> Int? {
        if case let .divergence(step, loss)? = error as? RecurrentError, !loss.isFinite { return step }
        return nil
    }

    func testCharTrainerResumedWithADivergingLearningRateKeepsTheLastGoodCheckpoint() throws {
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data(String(repeating: "to be or not to be, that is the question.\n", count: 30).utf8))
        var o = CharTrainingOptions()
        (o.hiddenSize, o.layers, o.batch, o.sequence, o.steps, o.evaluateEvery) = (8, 1, 4, 10, 3, 3)
        (o.optimizer, o.clip) = (.sgd, 0)
        let run = path("run")
        _ = try CharTrainer(text: text, options: o, output: run).run()
        let good = contents(run)
        XCTAssertNotNil(good["last.safetensors"])

        // Resume, then push the learning rate to where SGD overflows Float32.
        let resumed = try CharTrainer(resume: run, text: nil, steps: 40, epochs: nil)
        resumed.optimizer.learningRate = 1e38
        XCTAssertThrowsError(try resumed.run()) { error in
            let step = self.divergedStep(error)
            XCTAssertNotNil(step, "\(error)")
            XCTAssertGreaterThan(step ?? 0, 3)
            XCTAssertTrue("\(error)".hasPrefix("training diverged at step \(step ?? -1): loss is "), "\(error)")
        }
        // Nothing on disk moved: the step-3 checkpoint, metrics and chart are as they were.
        XCTAssertEqual(contents(run), good)
        XCTAssertNoThrow(try CharLanguageModel(contentsOf: (run as NSString).appendingPathComponent("last.safetensors")))
        let again = try CharTrainer(resume: run, text: nil, steps: 5, epochs: nil)
        XCTAssertEqual(again.step, 3)
        XCTAssertEqual(try again.run().steps, 5)
    }

    func testCharTrainerFromScratchNeverWritesInfiniteWeights() throws {
        // Every step checkpoints; the weights overflow one step before the loss does.
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data(String(repeating: "to be or not to be, that is the question.\n", count: 30).utf8))
        var o = CharTrainingOptions()
        (o.hiddenSize, o.layers, o.batch, o.sequence, o.steps, o.evaluateEvery) = (8, 1, 4, 10, 30, 1)
        (o.optimizer, o.clip, o.learningRate) = (.sgd, 0, 1e38)
        let run = path("run")
        var lastWritten: [String: Data] = [:]
        XCTAssertThrowsError(try CharTrainer(text: text, options: o, output: run).run(report: { event in
            if case .evaluation = event { lastWritten = self.contents(run) }
        })) { XCTAssertNotNil(self.divergedStep($0), "\($0)") }
        XCTAssertEqual(contents(run), lastWritten)
        if lastWritten["last.safetensors"] != nil {
            XCTAssertNoThrow(try CharLanguageModel(contentsOf: (run as NSString).appendingPathComponent("last.safetensors")))
        }
    }

    func testTaskTrainerStopsAndKeepsTheLastGoodCheckpoint() throws {
        let lines = (0..<40).map { k in "{\"input\": \"\(String(repeating: "ab", count: k % 3 + 1))\", \"target\": \"\(k % 2 == 0 ? "x" : "y")\"}" }
        let data = path("data.jsonl")
        _ = FileManager.default.createFile(atPath: data, contents: Data(lines.joined(separator: "\n").utf8))
        var o = TaskTrainingOptions(kind: .classify)
        (o.hiddenSize, o.embeddingSize, o.batch, o.epochs) = (4, 2, 4, 3)
        let run = path("fit")
        let trainer = try TaskTrainer(data: data, validation: nil, options: o, output: run)
        let perEpoch = trainer.buckets().count
        var afterEpoch1: [String: Data] = [:]
        XCTAssertThrowsError(try trainer.run(report: { event in
            switch event {
            case .evaluation: afterEpoch1 = self.contents(run)
            // In epoch 2, after its first step (each epoch resets the rate): far too large.
            case let .step(step, _, _, _, _, _) where step == perEpoch + 1: trainer.optimizer.learningRate = 3e38
            default: break
            }
        })) { error in
            let step = self.divergedStep(error)
            XCTAssertNotNil(step, "\(error)")
            XCTAssertGreaterThan(step ?? 0, perEpoch + 1)
            XCTAssertLessThanOrEqual(step ?? .max, 2 * perEpoch)
        }
        XCTAssertNotNil(afterEpoch1["last.safetensors"])
        XCTAssertEqual(contents(run), afterEpoch1)
        XCTAssertNoThrow(try TaskPredictor(checkpoint: (run as NSString).appendingPathComponent("last.safetensors")))
    }
}
