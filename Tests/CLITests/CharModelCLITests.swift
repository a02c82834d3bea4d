import Foundation
import Recurrent
import XCTest

/// `rnn train`, `sample` and `score` as a user runs them, on small generated text.
final class CharModelCLITests: ScratchFolderTestCase {

    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: path(name), contents: Data(text.utf8))
        return path(name)
    }

    func text(_ n: Int) -> String {
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        var s = "", i = 0
        while s.count < n { s += words[(i * 7 + i / 3) % words.count] + (i % 6 == 5 ? ".\n" : " "); i += 1 }
        return String(s.prefix(n))
    }

    func run(_ arguments: [String]) throws -> CLIResult { try runRNN(arguments) }

    func testTrainSampleScore() throws {
        let corpus = write("corpus.txt", text(6000))
        let out = path("run")
        let train = try run(["train", "--text", corpus, "--hidden", "32", "--layers", "1", "--batch", "8", "--seq", "20",
                             "--steps", "40", "--eval-every", "20", "--out", out])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("step 40"), train.stdout)
        XCTAssertTrue(train.stdout.contains("validation"), train.stdout)
        let best = (out as NSString).appendingPathComponent("best.safetensors")

        let a = try run(["sample", "--checkpoint", best, "--length", "80", "--prime", "to be", "--seed", "4"])
        let b = try run(["sample", "--checkpoint", best, "--length", "80", "--prime", "to be", "--seed", "4"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertTrue(a.stdout.hasPrefix("to be"))
        XCTAssertEqual(a.stdout.unicodeScalars.count, 5 + 80 + 1)

        let score = try run(["score", "--checkpoint", best, "--text", corpus, "--json"])
        XCTAssertEqual(score.status, 0, score.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["chars"] as? Int, 6000)
        let nats = try XCTUnwrap(object?["nats_per_char"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object?["bits_per_char"] as? Double), nats / log(2), accuracy: 1e-9)
        XCTAssertLessThan(nats, log(Double(Set(text(6000)).count)), "better than uniform")

        let resumed = try run(["train", "--resume", out, "--steps", "60"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at step 40"), resumed.stdout)
    }

    /// `--output-dropout`: 0 writes the bytes of a run without it; a value is saved, kept by
    /// `--resume` (and fixed there), and the model samples; bad values get one line and no folder.
    func testOutputDropout() throws {
        let corpus = write("corpus.txt", text(6000))
        let common = ["train", "--text", corpus, "--hidden", "16", "--layers", "2", "--batch", "8", "--seq", "20",
                      "--steps", "6", "--eval-every", "3"]
        func checkpoint(_ run: String, _ name: String = "last.safetensors") throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: (path(run) as NSString).appendingPathComponent(name)))
        }
        for (run, flags) in [("plain", [String]()), ("zero", ["--output-dropout", "0"]), ("dropped", ["--output-dropout", "0.3"])] {
            let r = try self.run(common + flags + ["--out", path(run)])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try checkpoint("zero"), try checkpoint("plain"))
        XCTAssertEqual(try checkpoint("zero", "best.safetensors"), try checkpoint("plain", "best.safetensors"))
        XCTAssertNotEqual(try checkpoint("dropped"), try checkpoint("plain"))
        func training(_ run: String) throws -> String {
            try SafetensorsFile(contentsOf: (path(run) as NSString).appendingPathComponent("last.safetensors")).metadata["training"] ?? ""
        }
        let saved = "\"output_dropout\": 0.30000001192092896"
        XCTAssertFalse(try training("plain").contains("output_dropout"))
        XCTAssertTrue(try training("dropped").contains(saved))

        let resumed = try run(["train", "--resume", path("dropped"), "--steps", "9"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at step 6"), resumed.stdout)
        XCTAssertTrue(try training("dropped").contains(saved))
        let sample = try run(["sample", "--checkpoint", (path("dropped") as NSString).appendingPathComponent("best.safetensors"),
                              "--length", "40", "--seed", "2"])
        XCTAssertEqual(sample.status, 0, sample.stderr)
        XCTAssertEqual(sample.stdout.unicodeScalars.count, 40 + 1)

        let cases: [([String], String)] = [
            (common + ["--output-dropout", "1.0", "--out", path("b1")], "invalid output-dropout '1.0': expected 0 <= p < 1"),
            (common + ["--output-dropout", "-0.1", "--out", path("b2")], "invalid output-dropout '-0.1': expected 0 <= p < 1"),
            (common + ["--output-dropout", "x", "--out", path("b3")], "invalid output-dropout 'x': expected a number 0 <= p < 1"),
            (common + ["--dropout", "x", "--out", path("b4")], "invalid dropout 'x': expected a number 0 <= p < 1"),
            (["train", "--resume", path("dropped"), "--output-dropout", "0.1"], "--output-dropout is fixed by the run"),
        ]
        for (arguments, needle) in cases { expectOneLineError(try run(arguments), [needle]) }
        for o in ["b1", "b2", "b3", "b4"] { XCTAssertFalse(FileManager.default.fileExists(atPath: path(o)), "\(o) was created") }
    }

    /// Finite weights whose outputs overflow Float32 (gates biased open, so h ≈ 0.76, into a head of
    /// 3e38s): `sample` and `score` refuse with one line at every precision instead of printing NaN.
    func testOverflowingWeightsAreRefused() throws {
        let corpus = write("corpus.txt", text(3000))
        let out = path("run")
        let train = try run(["train", "--text", corpus, "--hidden", "16", "--layers", "1", "--steps", "2", "--out", out])
        XCTAssertEqual(train.status, 0, train.stderr)
        var data = try Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("best.safetensors")))
        let n = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        for (tensor, value) in [("rnn.bias_ih_l0", Float(30)), ("head.weight", Float(3e38))] {
            let offsets = try XCTUnwrap((header[tensor] as? [String: Any])?["data_offsets"] as? [Int])
            let bytes = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            for o in stride(from: 8 + n + offsets[0], to: 8 + n + offsets[1], by: 4) { data.replaceSubrange(o..<(o + 4), with: bytes) }
        }
        let file = path("huge.safetensors")
        try data.write(to: URL(fileURLWithPath: file))
        for precision in ["fp32", "bf16", "int8", "w8a8"] {
            for arguments in [["sample", "--checkpoint", file, "--length", "20"], ["score", "--checkpoint", file, "--text", corpus]] {
                let r = try run(arguments + ["--precision", precision])
                XCTAssertNotEqual(r.status, 0, "\(arguments[0]) \(precision): \(r.stdout)")
                XCTAssertTrue(r.stderr.contains("overflow Float32"), "\(arguments[0]) \(precision): \(r.stderr)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                XCTAssertFalse(r.stdout.contains("nan"), r.stdout)
            }
        }
    }

    func testBadInputsFailCleanlyAndWriteNothing() throws {
        let corpus = write("corpus.txt", text(3000))
        _ = FileManager.default.createFile(atPath: path("empty.txt"), contents: Data())
        _ = FileManager.default.createFile(atPath: path("binary.bin"), contents: Data([0x50, 0x4B, 0x00, 0x03]))
        _ = FileManager.default.createFile(atPath: path("latin1.txt"), contents: Data([0x63, 0x61, 0x66, 0xE9]))
        _ = FileManager.default.createFile(atPath: path("junk.safetensors"), contents: Data((0..<64).map { UInt8($0) }))
        let cases: [([String], String)] = [
            (["train", "--text", path("missing.txt"), "--out", path("o1")], "does not exist"),
            (["train", "--text", path("empty.txt"), "--out", path("o2")], "the file is empty"),
            (["train", "--text", path("binary.bin"), "--out", path("o3")], "binary data"),
            (["train", "--text", path("latin1.txt"), "--out", path("o4")], "not valid UTF-8"),
            (["train", "--text", write("short.txt", "to be or not"), "--out", path("o5")], "needs at least"),
            (["train", "--resume", path("nowhere")], "no last.safetensors"),
            (["train", "--text", corpus], "missing --out"),
            (["train", "--text", corpus, "--out", path("o6"), "--cell", "tree"], "tree"),
            (["train", "--text", corpus, "--out", path("o7"), "--optimizer", "lbfgs"], "lbfgs"),
            (["sample", "--checkpoint", path("missing.safetensors")], "does not exist"),
            (["sample", "--checkpoint", path("junk.safetensors")], "not a safetensors file"),
            (["sample", "--checkpoint", corpus], "not a safetensors file"),
            (["sample", "--checkpoint", path("x"), "--temperature", "0"], "temperature '0.0'"),
            (["score", "--checkpoint", path("junk.safetensors"), "--text", corpus], "not a safetensors file"),
        ]
        for (arguments, needle) in cases { expectOneLineError(try run(arguments), [needle]) }
        for o in ["o1", "o2", "o3", "o4", "o5", "o6", "o7"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(o)), "\(o) was created")
        }
        // Scoring a character the model never saw names it and its position.
        let out = path("run")
        XCTAssertEqual(try run(["train", "--text", corpus, "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "10",
                                "--steps", "2", "--out", out]).status, 0)
        let other = write("other.txt", "to be, or not")
        let r = try run(["score", "--checkpoint", (out as NSString).appendingPathComponent("last.safetensors"), "--text", other])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("position 5 ', (U+002C)'"), r.stderr)
    }

    /// Ctrl-C: the run writes its last checkpoint, says how to continue, and the checkpoint resumes.
    func testInterruptWritesTheLastCheckpoint() throws {
        let corpus = write("corpus.txt", text(20000))
        let out = path("run")
        let log = path("stdout.txt")
        let process = try ChildProcess(["train", "--text", corpus, "--hidden", "64", "--layers", "2", "--batch", "16", "--seq", "50",
                                        "--steps", "100000", "--eval-every", "100000", "--out", out], stdout: log)
        Thread.sleep(forTimeInterval: 1.5)
        process.signal(SIGINT)
        let (status, signaled) = process.wait()
        let output = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        XCTAssertFalse(signaled)
        XCTAssertEqual(status, 130)
        XCTAssertTrue(output.contains("interrupted at step"), output)
        XCTAssertTrue(output.contains("--resume"), output)
        let last = (out as NSString).appendingPathComponent("last.safetensors")
        XCTAssertTrue(FileManager.default.fileExists(atPath: last))
        let resumed = try run(["train", "--resume", out, "--steps", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }
}

/// `rnn data`, `fit`, `predict`, `evaluate` as a user runs them.
final class TaskCLITests: ScratchFolderTestCase {
    func testRoommateTaggingEndToEnd() throws {
        let data = try runRNN(["data", "roommate", "--count", "300", "--seed", "3"])
        XCTAssertEqual(data.status, 0, data.stderr)
        XCTAssertEqual(data.stdout.split(separator: "\n").count, 300)
        XCTAssertEqual(try runRNN(["data", "roommate", "--count", "300", "--seed", "3"]).stdout, data.stdout)
        _ = FileManager.default.createFile(atPath: path("weeks.jsonl"), contents: Data(data.stdout.utf8))
        let fit = try runRNN(["fit", "--task", "tag", "--tokens", "word", "--data", path("weeks.jsonl"), "--hidden", "24",
                              "--epochs", "8", "--lr", "0.01", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        XCTAssertTrue(fit.stdout.contains("270 training and 30 validation examples"), fit.stdout)
        let evaluation = try runRNN(["evaluate", "--checkpoint", path("run/best.safetensors"), "--data", path("weeks.jsonl"), "--json"])
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        let metrics = try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(metrics?["task"] as? String, "tag")
        XCTAssertGreaterThan(metrics?["accuracy"] as? Double ?? 0, 0.9)
        let predict = try runRNN(["predict", "--checkpoint", path("run/best.safetensors"), "--data", path("weeks.jsonl")])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertEqual(predict.stdout.split(separator: "\n").count, 300)

        // Bad input: one line, non-zero, nothing half-written.
        _ = FileManager.default.createFile(atPath: path("broken.jsonl"), contents: Data("{\"input\": \"sunny\", \"target\": [\"pasta\"]}\n{oops\n".utf8))
        for (arguments, needle) in [
            (["fit", "--task", "tag", "--data", path("broken.jsonl"), "--out", path("r2")], "broken.jsonl:2: not valid JSON"),
            (["fit", "--task", "translate", "--data", path("weeks.jsonl"), "--out", path("r3")], "translate"),
            (["evaluate", "--checkpoint", path("weeks.jsonl"), "--data", path("weeks.jsonl")], "not a safetensors file"),
            (["data", "poems"], "poems"),
        ] {
            expectOneLineError(try runRNN(arguments), [needle])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r2")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r3")))
    }

    /// `fit --output-dropout`: classify, regress and tag take it; seq2seq and caption, whose
    /// --dropout already drops the head's input, refuse it in one line.
    func testFitOutputDropout() throws {
        let data = try runRNN(["data", "roommate", "--count", "100", "--seed", "3"])
        XCTAssertEqual(data.status, 0, data.stderr)
        _ = FileManager.default.createFile(atPath: path("weeks.jsonl"), contents: Data(data.stdout.utf8))
        let common = ["fit", "--tokens", "word", "--data", path("weeks.jsonl"), "--hidden", "8", "--epochs", "1"]
        let fit = try runRNN(common + ["--task", "tag", "--output-dropout", "0.3", "--out", path("run")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let training = try SafetensorsFile(contentsOf: path("run/last.safetensors")).metadata["training"] ?? ""
        XCTAssertTrue(training.contains("\"output_dropout\": 0.30000001192092896"), training)
        let evaluation = try runRNN(["evaluate", "--checkpoint", path("run/best.safetensors"), "--data", path("weeks.jsonl")])
        XCTAssertEqual(evaluation.status, 0, evaluation.stderr)
        for (arguments, needle) in [
            (common + ["--task", "seq2seq", "--output-dropout", "0.2", "--out", path("r1")],
             "invalid output-dropout '0.2': expected none for seq2seq (--dropout already drops its head's input)"),
            (common + ["--task", "tag", "--output-dropout", "1", "--out", path("r2")], "invalid output-dropout '1.0'"),
            (["fit", "--resume", path("run"), "--output-dropout", "0.1"], "--output-dropout is fixed by the run"),
        ] {
            expectOneLineError(try runRNN(arguments), [needle])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r1")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r2")))
    }
}

final class InspectCLITests: ScratchFolderTestCase {
    func testInspectSaysWhatAFileIsFor() throws {
        let text = path("t.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data(String(repeating: "to be or not to be. ", count: 60).utf8))
        let out = path("run")
        XCTAssertEqual(try runRNN(["train", "--text", text, "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "10",
                                   "--steps", "2", "--out", out]).status, 0)
        let r = try runRNN(["inspect", (out as NSString).appendingPathComponent("last.safetensors"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let tensors = object?["tensors"] as? [[String: Any]] ?? []
        XCTAssertEqual(tensors.first { $0["name"] as? String == "rnn.weight_hh_l0" }?["shape"] as? [Int], [32, 8])
        let uses = object?["uses"] as? [String] ?? []
        XCTAssertTrue(uses.contains { $0.hasPrefix("a character language model (1×8 lstm") }, "\(uses)")
        XCTAssertTrue(uses.contains { $0.contains("--resume") }, "\(uses)")
        let bad = try runRNN(["inspect", text])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("not a safetensors file"), bad.stderr)
    }
}

final class ThreadCountCLITests: ScratchFolderTestCase {
    /// The same checkpoint bytes with 1 and 2 threads.
    func testCheckpointBytesDoNotDependOnThreads() throws {
        let text = path("t.txt")
        var words = "", i = 0
        while words.count < 30_000 { words += ["all", "the", "world", "is", "a", "stage", "and"][(i * 5 + i / 7) % 7] + (i % 9 == 8 ? ".\n" : " "); i += 1 }
        _ = FileManager.default.createFile(atPath: text, contents: Data(words.utf8))
        var checkpoints: [Data] = []
        for threads in ["1", "2"] {
            let out = path("run\(threads)")
            // Sizes large enough that the kernels do split work across threads.
            let r = try runRNN(["train", "--text", text, "--hidden", "128", "--layers", "2", "--batch", "32", "--seq", "32",
                                "--dropout", "0.1", "--steps", "3", "--threads", threads, "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            checkpoints.append(try Data(contentsOf: URL(fileURLWithPath: (out as NSString).appendingPathComponent("last.safetensors"))))
        }
        XCTAssertEqual(checkpoints[0], checkpoints[1])
        // Sampling and scoring too (bf16 scoring splits its 512 x 128 batch-1 products over 2 threads).
        let checkpoint = (path("run1") as NSString).appendingPathComponent("last.safetensors")
        var outputs: [String] = []
        for threads in ["1", "2"] {
            let sample = try runRNN(["sample", "--checkpoint", checkpoint, "--length", "300", "--threads", threads])
            let score = try runRNN(["score", "--checkpoint", checkpoint, "--text", text, "--precision", "bf16", "--threads", threads])
            XCTAssertEqual(sample.status, 0, sample.stderr)
            XCTAssertEqual(score.status, 0, score.stderr)
            outputs.append(sample.stdout + score.stdout)
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertGreaterThan(outputs[0].count, 300)
    }
}
