import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// `TaskTrainer(resume:)`: a run stopped mid-epoch and resumed gives the same checkpoints, byte
/// for byte, as the run straight through, for each network kind, with dropout, a schedule that
/// depends on the run's length, and early stopping's counters in flight (seq2seq by its defaults:
/// attention, judged by accuracy, whose ties need the best score restored to the bit), and with
/// dropout on the head's input (classify's pooled vector, tag's every step) and weight drop kept by
/// the resume.
final class TaskResumeTests: XCTestCase {
    func lines(_ kind: SequenceTaskKind, _ n: Int) -> [String] {
        var rng = SeededGenerator(seed: 7)
        return (0..<n).map { _ in
            let length = 2 + rng.nextInt(below: 6)
            let s = String((0..<length).map { _ in rng.nextInt(below: 2) == 0 ? Character("a") : "b" })
            switch kind {
            case .tag:
                return JSONText.object([("input", JSONText.string(s.map(String.init).joined(separator: " "))),
                                        ("target", JSONText.array(s.map { JSONText.string($0 == "a" ? "x" : "y") }))])
            case .seq2seq:
                return JSONText.object([("input", JSONText.string(s)), ("target", JSONText.string(String(s.reversed())))])
            default:
                return JSONText.object([("input", JSONText.string(s)), ("target", JSONText.string(s.first == "a" ? "p" : "q"))])
            }
        }
    }

    func testAResumeMidEpochEqualsOneRun() throws {
        let bf16 = GEMM.MatmulPrecision.bf16
        for (kind, outputDropout, weightDrop, ema, precision) in [
            (SequenceTaskKind.classify, Float(0), Float(0), Float?.none, GEMM.MatmulPrecision.fp32), (.tag, 0, 0, nil, .fp32),
            (.seq2seq, 0, 0, nil, .fp32), (.classify, 0.3, 0, nil, .fp32), (.tag, 0.3, 0, nil, .fp32),
            (.classify, 0, 0.3, nil, .fp32), (.tag, 0, 0.4, nil, .fp32), (.seq2seq, 0, 0, 0.8, .fp32),
            (.seq2seq, 0, 0, nil, bf16), (.classify, 0, 0.3, nil, bf16),
        ] {
            let dir = TemporaryFolder()
            let data = dir.write("data.jsonl", lines(kind, 120).joined(separator: "\n"))
            var o = TaskTrainingOptions(kind: kind)
            (o.hiddenSize, o.embeddingSize, o.layers, o.batch, o.epochs, o.dropout) = (8, 4, 2, 16, 3, 0.2)
            o.outputDropout = outputDropout
            o.weightDrop = weightDrop
            o.averageDecay = ema
            o.matmulPrecision = precision
            o.tokenization = kind == .tag ? .word : .char
            o.schedule = .cosine(warmup: 4, minimum: 0.1)
            o.patience = 5
            o.optimizer = .rmsprop
            let straight = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("straight"))
            XCTAssertEqual(try straight.run().reason, .completed)

            let first = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("split"))
            let stopAt = first.stepsPerEpoch + 2   // in the second epoch, after its batch order was drawn
            var steps = 0
            let part = try first.run(shouldStop: { steps >= stopAt }, report: { if case .step = $0 { steps += 1 } })
            XCTAssertTrue(part.interrupted)
            XCTAssertEqual(part.steps, stopAt)
            let resumed = try TaskTrainer(resume: dir.file("split"))
            XCTAssertEqual(resumed.step, stopAt)
            XCTAssertEqual(resumed.options.outputDropout, outputDropout)
            XCTAssertEqual(resumed.options.weightDrop, weightDrop)
            XCTAssertEqual(resumed.options.averageDecay, ema)
            XCTAssertEqual(resumed.options.matmulPrecision, precision)
            XCTAssertEqual(try resumed.run().steps, straight.totalSteps)
            for name in ["last.safetensors", "best.safetensors"] {
                let a = try XCTUnwrap(FileManager.default.contents(atPath: dir.file("straight/" + name)))
                let b = try XCTUnwrap(FileManager.default.contents(atPath: dir.file("split/" + name)))
                XCTAssertEqual(a, b, "\(kind) output dropout \(outputDropout) weight drop \(weightDrop) ema \(ema ?? 0) \(precision): \(name)")
            }
        }
    }

    /// seq2seq and caption drop their head's input with --dropout: --output-dropout is refused there.
    func testOutputDropoutIsRefusedWhereDropoutAlreadyActsOnTheHead() throws {
        for kind in [SequenceTaskKind.seq2seq, .caption] {
            var o = TaskTrainingOptions(kind: kind)
            o.outputDropout = 0.2
            XCTAssertThrowsError(try o.validate()) {
                XCTAssertEqual("\($0)", "invalid output-dropout '0.2': expected none for \(kind.rawValue) "
                               + "(--dropout already drops its head's input)")
            }
        }
        var o = TaskTrainingOptions(kind: .regress)
        o.outputDropout = 0.2
        XCTAssertNoThrow(try o.validate())
        o.outputDropout = 1
        XCTAssertThrowsError(try o.validate())
    }

    /// --weight-drop acts on the stack of classify, regress and tag; seq2seq and caption refuse it.
    func testWeightDropOnlyWhereTheStackTakesIt() throws {
        for kind in [SequenceTaskKind.seq2seq, .caption] {
            var o = TaskTrainingOptions(kind: kind)
            o.weightDrop = 0.2
            XCTAssertThrowsError(try o.validate()) {
                XCTAssertEqual("\($0)", "invalid weight-drop '0.2': expected none for \(kind.rawValue) (classify, regress and tag only)")
            }
        }
        var o = TaskTrainingOptions(kind: .tag)
        o.weightDrop = 0.2
        XCTAssertNoThrow(try o.validate())
        o.weightDrop = -0.1
        XCTAssertThrowsError(try o.validate())
        // It changes training: the same run without it ends with other weights.
        let dir = TemporaryFolder()
        let data = dir.write("data.jsonl", lines(.classify, 60).joined(separator: "\n"))
        var with = TaskTrainingOptions(kind: .classify)
        (with.hiddenSize, with.embeddingSize, with.batch, with.epochs, with.weightDrop) = (8, 4, 16, 2, 0.5)
        var without = with
        without.weightDrop = 0
        _ = try TaskTrainer(data: data, validation: nil, options: with, output: dir.file("with")).run()
        _ = try TaskTrainer(data: data, validation: nil, options: without, output: dir.file("without")).run()
        XCTAssertNotEqual(FileManager.default.contents(atPath: dir.file("with/last.safetensors")),
                          FileManager.default.contents(atPath: dir.file("without/last.safetensors")))
    }

    func testAResumeMayChangeTheEpochsAndTheRateAndRefusesOtherData() throws {
        let dir = TemporaryFolder()
        let data = dir.write("data.jsonl", lines(.classify, 60).joined(separator: "\n"))
        var o = TaskTrainingOptions(kind: .classify)
        (o.hiddenSize, o.embeddingSize, o.batch, o.epochs) = (4, 2, 16, 1)
        _ = try TaskTrainer(data: data, validation: nil, options: o, output: dir.file("run")).run()
        let more = try TaskTrainer(resume: dir.file("run"), epochs: 2, learningRate: 0.5)
        XCTAssertEqual(more.totalSteps, 2 * more.stepsPerEpoch)
        XCTAssertEqual(more.optimizer.learningRate, 0.5)
        _ = try more.run()
        dir.write("data.jsonl", lines(.classify, 80).joined(separator: "\n"))
        XCTAssertThrowsError(try TaskTrainer(resume: dir.file("run"), epochs: 3)) {
            XCTAssertTrue("\($0)".contains("not the data the run"), "\($0)")
        }
    }
}
