import Foundation
import XCTest

/// The one trainer as `rnn train` and `rnn fit` use it: signals, the folder lock, resuming a fit
/// exactly, and the flags a resume may and may not change.
final class TrainerCLITests: ScratchFolderTestCase {
    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: path(name), contents: Data(text.utf8))
        return path(name)
    }

    func corpus(_ n: Int) -> String {
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        var s = "", i = 0
        while s.count < n { s += words[(i * 5 + i / 2) % words.count] + (i % 7 == 6 ? ".\n" : " "); i += 1 }
        return write("corpus.txt", String(s.prefix(n)))
    }

    func contents(_ file: String) -> Data? { FileManager.default.contents(atPath: file) }

    /// A long `rnn train` into `out`, started; returns once it holds its folder.
    func startLongTraining(_ text: String, out: String, log: String) throws -> ChildProcess {
        let process = try ChildProcess(["train", "--text", text, "--hidden", "64", "--layers", "2", "--batch", "16", "--seq", "50",
                                        "--steps", "100000", "--eval-every", "100000", "--out", out], stdout: log)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !(String(decoding: contents(log) ?? Data(), as: UTF8.self).contains("step 1/")) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        return process
    }

    func testSIGTERMWritesTheLastCheckpointAndExits143() throws {
        let text = corpus(20000), out = path("run"), log = path("stdout.txt")
        let process = try startLongTraining(text, out: out, log: log)
        Thread.sleep(forTimeInterval: 0.5)
        process.signal(SIGTERM)
        let (status, signaled) = process.wait()
        let output = String(decoding: contents(log) ?? Data(), as: UTF8.self)
        XCTAssertFalse(signaled)
        XCTAssertEqual(status, 143, output)
        XCTAssertTrue(output.contains("interrupted at step"), output)
        XCTAssertNotNil(contents((out as NSString).appendingPathComponent("last.safetensors")))
        let resumed = try runRNN(["train", "--resume", out, "--steps", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)   // the lock went with the process
        XCTAssertTrue(resumed.stdout.contains("nothing to train"), resumed.stdout)
    }

    func testASecondRunIntoAFolderInUseIsRefusedAndWritesNothing() throws {
        let text = corpus(20000), out = path("run"), log = path("stdout.txt")
        let first = try startLongTraining(text, out: out, log: log)
        defer { first.signal(SIGKILL); _ = first.wait() }
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        for arguments in [["train", "--text", text, "--hidden", "8", "--steps", "5", "--out", out],
                          ["train", "--text", text, "--hidden", "8", "--steps", "5", "--out", out + "/"]] {
            let second = try runRNN(arguments)
            XCTAssertEqual(second.status, 1, second.stdout)
            XCTAssertTrue(second.stderr.contains("another run is writing into this folder"), second.stderr)
            XCTAssertEqual(second.stderr.split(separator: "\n").count, 1, second.stderr)
        }
        let weeks = try runRNN(["data", "roommate", "--count", "50"])
        let fit = try runRNN(["fit", "--task", "tag", "--tokens", "word", "--data", write("w.jsonl", weeks.stdout), "--out", out])
        XCTAssertEqual(fit.status, 1)
        XCTAssertTrue(fit.stderr.contains("another run is writing into this folder"), fit.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), before)
    }

    func testAResumeOfARunStillGoingIsRefused() throws {
        let text = corpus(20000), out = path("run"), log = path("stdout.txt")
        XCTAssertEqual(try runRNN(["train", "--text", text, "--hidden", "64", "--batch", "16", "--steps", "2", "--out", out]).status, 0)
        let going = try ChildProcess(["train", "--resume", out, "--steps", "100000"], stdout: log)
        defer { going.signal(SIGKILL); _ = going.wait() }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !(String(decoding: contents(log) ?? Data(), as: UTF8.self).contains("resuming at step 2")) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        for arguments in [["train", "--resume", out, "--steps", "200000"], ["fit", "--resume", out]] {
            let resume = try runRNN(arguments)
            XCTAssertEqual(resume.status, 1, resume.stdout)
            XCTAssertTrue(resume.stderr.contains("another run is writing into this folder"), resume.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), before)
    }

    /// Through the command line at an epoch boundary: 3 epochs straight, or 1 then `--resume
    /// --epochs 3`, with a per-epoch decay, dropout and clipping. (Mid-epoch stops and schedules
    /// that depend on the run's length: `TaskResumeTests`.)
    func testFitResumedGivesTheSameCheckpointsAsOneRun() throws {
        let weeks = try runRNN(["data", "roommate", "--count", "300", "--seed", "2"])
        let data = write("weeks.jsonl", weeks.stdout)
        let common = ["fit", "--task", "tag", "--tokens", "word", "--data", data, "--hidden", "12", "--dropout", "0.1",
                      "--layers", "2", "--lr-decay", "0.7", "--clip", "1", "--optimizer", "adam"]
        XCTAssertEqual(try runRNN(common + ["--epochs", "3", "--out", path("a")]).status, 0)
        XCTAssertEqual(try runRNN(common + ["--epochs", "1", "--out", path("b")]).status, 0)
        let resumed = try runRNN(["fit", "--resume", path("b"), "--epochs", "3"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming tag at epoch 1 of 3"), resumed.stdout)
        for name in ["last.safetensors", "best.safetensors"] {
            let a = try XCTUnwrap(contents(path("a/" + name))), b = try XCTUnwrap(contents(path("b/" + name)))
            XCTAssertEqual(a, b, "\(name) differs between one run and a resumed one")
        }
    }

    func testResumeConflictsAndBadNumbersGetOneLine() throws {
        let text = corpus(6000), out = path("run")
        XCTAssertEqual(try runRNN(["train", "--text", text, "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "10",
                                   "--steps", "6", "--out", out]).status, 0)
        let cases: [([String], String)] = [
            (["train", "--resume", out, "--hidden", "16"], "--hidden is fixed by the run"),
            (["train", "--resume", out, "--optimizer", "sgd"], "--optimizer is fixed by the run"),
            (["train", "--resume", out, "--matmul-precision", "bf16"], "--matmul-precision is fixed by the run"),
            (["train", "--text", text, "--matmul-precision", "fp16", "--out", path("x")], "matmul-precision"),
            (["train", "--text", text, "--epochs", "-1", "--out", path("x")], "invalid epochs '-1'"),
            (["train", "--text", text, "--patience", "-1", "--out", path("x")], "invalid patience '-1'"),
            (["train", "--text", text, "--lr-schedule", "sometimes", "--out", path("x")], "lr-schedule"),
            (["fit", "--task", "tag", "--data", text, "--batch", "-3", "--out", path("x")], "invalid batch '-3'"),
            (["fit", "--resume", out], "a run of rnn train"),
        ]
        for (arguments, message) in cases {
            let r = try runRNN(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), "\(arguments.joined(separator: " ")): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        // Resuming to a step already reached says so, and trains nothing.
        for arguments in [["train", "--resume", out], ["train", "--resume", out, "--steps", "4"]] {
            let r = try runRNN(arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("has already taken 6 steps") && r.stdout.contains("nothing to train"), r.stdout)
        }
        // --lr may change on resume, and says so.
        let lr = try runRNN(["train", "--resume", out, "--steps", "8", "--lr", "0.01"])
        XCTAssertEqual(lr.status, 0, lr.stderr)
        XCTAssertTrue(lr.stdout.contains("learning rate now 0.01"), lr.stdout)
    }
}
