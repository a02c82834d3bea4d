import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// `rnn train` and `rnn fit`'s trainers on ranks that are threads (`ThreadCommunicator`): the
/// streams or examples split among ranks give the whole batch's first gradient, rank 0 alone
/// writes, and its checkpoint (the hidden state of every stream gathered) resumes on 1 process.
final class DataParallelTrainerTests: XCTestCase {
    /// The test's files, in a folder of its own that the case removes when it ends.
    lazy var dir: String = {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-parallel-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }()

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    func gradients(_ arena: ParameterArena) -> [Float] { Array(UnsafeBufferPointer(start: arena.gradients, count: arena.count)) }

    /// Largest |a − b| over the largest |b|.
    func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / max(b.map(abs).max() ?? 0, 1e-30)
    }

    func testCharTrainerOnRanksMatchesOneProcessAndRankZeroAloneWrites() throws {
        let text = path("text.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data(String(repeating: "to be or not to be, that is the question.\n", count: 30).utf8))
        var o = CharTrainingOptions()
        // 5 streams: shares of 3 and 2; clip off, so the gradients left in the arena are the step's.
        (o.hiddenSize, o.layers, o.batch, o.sequence, o.steps, o.evaluateEvery, o.clip) = (12, 2, 5, 8, 1, 1, 0)
        let alone = try CharTrainer(text: text, options: o, output: path("one"))
        _ = try alone.run()
        let ranks = ThreadCommunicator.onRanks(2) { parallel -> [Float] in
            let trainer = try CharTrainer(text: text, options: o, output: self.path("two"), parallel: parallel)
            _ = try trainer.run()
            return self.gradients(trainer.model.arena)
        }
        let one = gradients(alone.model.arena)
        for rank in ranks {
            XCTAssertLessThanOrEqual(relativeDifference(try rank.get(), one), 1e-6, "first-step gradient against 1 process")
        }
        // Rank 0 wrote the run; the gathered hidden state is the one process's (to rounding).
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: path("two")))
        XCTAssertTrue(files.isSuperset(of: ["last.safetensors", "best.safetensors", "metrics.jsonl"]), "\(files)")
        let hidden = { (run: String) in try SafetensorsFile(contentsOf: self.path(run + "/last.safetensors")).floats("train.hidden") }
        XCTAssertEqual(try hidden("two").count, try hidden("one").count)
        XCTAssertLessThanOrEqual(relativeDifference(try hidden("two"), try hidden("one")), 1e-5)
        // 2 → 1: the checkpoint of 2 ranks resumes in one process.
        let resumed = try CharTrainer(resume: path("two"), text: nil, steps: 3, epochs: nil)
        XCTAssertEqual(resumed.step, 1)
        XCTAssertEqual(try resumed.run().steps, 3)
    }

    func testTaskTrainerOnThreeRanksWithABatchSmallerThanTheRanks() throws {
        // 2 examples a batch on 3 ranks: rank 2 has none every step, and weighs nothing.
        let data = path("data.jsonl")
        let lines = (0..<12).map { i in "{\"input\": \"\(i % 2 == 0 ? "good fine nice" : "bad awful poor") day\", \"target\": \"\(i % 2 == 0 ? "pos" : "neg")\"}" }
        _ = FileManager.default.createFile(atPath: data, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        var o = TaskTrainingOptions(kind: .classify)
        (o.hiddenSize, o.batch, o.epochs, o.clip, o.tokenization) = (8, 2, 1, 0, .word)
        let alone = try TaskTrainer(data: data, validation: nil, options: o, output: path("one"))
        _ = try alone.run()
        let ranks = ThreadCommunicator.onRanks(3) { parallel -> [Float] in
            let trainer = try TaskTrainer(data: data, validation: nil, options: o, output: self.path("three"), parallel: parallel)
            _ = try trainer.run()
            return Array(UnsafeBufferPointer(start: trainer.arena.values, count: trainer.arena.count))
        }
        let weights = try ranks.map { try $0.get() }
        XCTAssertEqual(weights[0], weights[1])
        XCTAssertEqual(weights[0], weights[2])
        let one = Array(UnsafeBufferPointer(start: alone.arena.values, count: alone.arena.count))
        XCTAssertLessThanOrEqual(relativeDifference(weights[0], one), 1e-5, "an epoch on 3 ranks against 1 process")
    }
}
