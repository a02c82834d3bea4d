import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// A temporary folder removed after the test.
final class TemporaryFolder {
    let path: String
    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("recurrent-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8))
        return file(name)
    }
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
        return file(name)
    }
}

/// A small generated text with structure to learn: a repeated little song with variations.
func generatedText(_ characters: Int, seed: UInt64 = 5) -> String {
    let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "it"]
    var rng = SeededGenerator(seed: seed)
    var out = ""
    while out.unicodeScalars.count < characters {
        out += words[rng.nextInt(below: words.count)]
        out += rng.nextInt(below: 8) == 0 ? ".\n" : " "
    }
    return String(String.UnicodeScalarView(out.unicodeScalars.prefix(characters)))
}

final class VocabularyAndTextTests: XCTestCase {
    func testVocabularyIsSortedDistinctScalars() throws {
        let v = Vocabulary(text: "baé\na!b")
        XCTAssertEqual(v.symbols, ["\n", "!", "a", "b", "é"])
        XCTAssertEqual(try v.encode("ab\n"), [2, 3, 0])
        XCTAssertThrowsError(try v.encode("abz", source: "valid.txt")) {
            XCTAssertEqual("\($0)", "invalid character in valid.txt at position 2 'z (U+007A)': expected one of the model's 5 characters")
        }
        XCTAssertThrowsError(try v.encode("a\tb")) { XCTAssertTrue("\($0)".contains("U+0009")) }
        XCTAssertThrowsError(try Vocabulary(symbols: ["a", "bc"]))
        XCTAssertThrowsError(try Vocabulary(symbols: ["a", "a"]))
    }

    func testTextFileRefusesBadFiles() {
        let dir = TemporaryFolder()
        XCTAssertEqual(try TextFile.read(dir.write("ok.txt", "héllo")), "héllo")
        let cases: [(String, String)] = [
            (dir.file("missing.txt"), "does not exist"),
            (dir.write("empty.txt", ""), "the file is empty"),
            (dir.write("binary.bin", bytes: [0x41, 0x00, 0x42]), "binary data (a NUL byte at offset 1)"),
            (dir.write("latin1.txt", bytes: [0x61, 0x62, 0xE9, 0x63]), "not valid UTF-8 text (at byte 2)"),
            (dir.path, "is a folder, expected a text file"),
        ]
        for (path, reason) in cases {
            XCTAssertThrowsError(try TextFile.read(path)) { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
        }
    }
}

final class CharLanguageModelTests: XCTestCase {
    struct Expected: Decodable {
        struct Result: Decodable { let nats_per_char: Double; let first_logits: [Float] }
        let text: String
        let models: [String: [String: Result]]
    }

    /// Checkpoints written by PyTorch under the contract (F32, F16, BF16) load and score as PyTorch scores them.
    func testPyTorchCheckpointsLoadAndScore() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "charlm_expected", withExtension: "json", subdirectory: "Fixtures"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
        XCTAssertEqual(expected.models.count, 2)
        for (cell, results) in expected.models {
            for (dtype, result) in results {
                let path = try XCTUnwrap(Bundle.module.path(forResource: "charlm_\(cell)_\(dtype)", ofType: "safetensors",
                                                            inDirectory: "Fixtures"))
                let model = try CharLanguageModel(contentsOf: path)
                XCTAssertEqual(model.configuration.cell.rawValue, cell)
                let ids = try model.configuration.vocabulary.encode(expected.text)
                let (nats, n) = model.negativeLogLikelihood(ids, chunk: 7)
                XCTAssertEqual(n, ids.count - 1)
                XCTAssertEqual(nats / Double(n), result.nats_per_char, accuracy: 1e-5 * result.nats_per_char, "\(cell) \(dtype)")
                // The first step's logits.
                var logits = [Float](repeating: 0, count: model.configuration.vocabulary.count)
                var rng = SeededGenerator(seed: 0)
                model.model.forward(tokens: [ids[0]], batch: 1, steps: 1, output: &logits, rng: &rng,
                                    workspace: SequenceModelWorkspace(), arena: model.arena)
                for (a, b) in zip(logits, result.first_logits) { XCTAssertEqual(a, b, accuracy: 1e-5 * (1 + abs(b)), "\(cell) \(dtype)") }
            }
        }
    }

    func testCheckpointsThatDoNotFitAreRefused() throws {
        let dir = TemporaryFolder()
        let vocab = Vocabulary(text: "abc")
        let config = CharModelConfiguration(cell: .gru, vocabulary: vocab, embeddingSize: 4, hiddenSize: 5, layers: 1)
        let model = try CharLanguageModel(configuration: config, seed: 1)
        func write(_ name: String, entries: [SafetensorsFile.Entry], metadata: [String: String]) -> String {
            let path = dir.file(name)
            _ = FileManager.default.createFile(atPath: path, contents: SafetensorsFile.encode(entries, metadata: metadata))
            return path
        }
        let good = write("good.safetensors", entries: model.contractEntries(), metadata: ["config": config.json])
        XCTAssertEqual(try CharLanguageModel(contentsOf: good).configuration, config)
        var wrong = config
        wrong.hiddenSize = 6
        let mismatched = write("mismatch.safetensors", entries: model.contractEntries(), metadata: ["config": wrong.json])
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: mismatched)) {
            XCTAssertTrue("\($0)".contains("tensor 'embedding.weight' has shape [3, 4]") || "\($0)".contains("has shape"), "\($0)")
        }
        let noConfig = write("noconfig.safetensors", entries: model.contractEntries(), metadata: [:])
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: noConfig)) { XCTAssertTrue("\($0)".contains("no \"config\" metadata")) }
        let missing = write("missing.safetensors", entries: Array(model.contractEntries().dropLast()), metadata: ["config": config.json])
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: missing)) { XCTAssertTrue("\($0)".contains("missing tensor 'head.bias'")) }
        var entries = model.contractEntries()
        entries[0] = .init(entries[0].name, shape: entries[0].shape, floats: [Float.nan] + entries[0].floats!.dropFirst())
        let nan = write("nan.safetensors", entries: entries, metadata: ["config": config.json])
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: nan)) { XCTAssertTrue("\($0)".contains("weights must be finite")) }
        let badConfig = write("badconfig.safetensors", entries: model.contractEntries(), metadata: ["config": "{\"cell\": \"lstm\"}"])
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: badConfig)) { XCTAssertTrue("\($0)".contains("bad config metadata")) }
        let truncated = dir.write("truncated.safetensors", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: good)).prefix(100)))
        XCTAssertThrowsError(try CharLanguageModel(contentsOf: truncated)) { XCTAssertTrue("\($0)".contains("not a valid safetensors file")) }
    }

    func testSamplingIsSeededAndRespectsTopK() throws {
        let config = CharModelConfiguration(cell: .lstm, vocabulary: Vocabulary(text: "abcdef"), embeddingSize: 4, hiddenSize: 8, layers: 2)
        let model = try CharLanguageModel(configuration: config, seed: 3)
        func sample(seed: UInt64, topK: Int? = nil) throws -> String {
            var s = ""
            try model.sample(length: 200, topK: topK, prime: "ab", seed: seed) { s.append($0) }
            return s
        }
        XCTAssertEqual(try sample(seed: 1), try sample(seed: 1))
        XCTAssertNotEqual(try sample(seed: 1), try sample(seed: 2))
        XCTAssertEqual(try sample(seed: 1).count, 200)
        XCTAssertLessThanOrEqual(Set(try sample(seed: 4, topK: 1)).count, 6)
        XCTAssertThrowsError(try model.sample(length: 1, prime: "xyz", seed: 1) { _ in }) {
            XCTAssertTrue("\($0)".contains("the prime text at position 0"), "\($0)")
        }
        // Top-1 is greedy: the same text whatever the seed.
        XCTAssertEqual(try sample(seed: 5, topK: 1), try sample(seed: 6, topK: 1))
    }
}

final class CharTrainerTests: XCTestCase {
    func options(steps: Int) -> CharTrainingOptions {
        var o = CharTrainingOptions()
        o.hiddenSize = 24
        o.layers = 2
        o.batch = 4
        o.sequence = 16
        o.steps = steps
        o.evaluateEvery = 10
        o.dropout = 0.1
        o.learningRate = 1e-2
        return o
    }

    /// `o` trained straight through its steps into `straight`, and for half of them into `split`;
    /// `split` then resumed to the whole, after `check` has looked at the resumed trainer; both
    /// runs' last and best checkpoints must be the same bytes.
    func assertResumeEqualsStraight(_ o: CharTrainingOptions, text: String, straight: String, split: String,
                                    check: (CharTrainer) throws -> Void, file: StaticString = #filePath,
                                    line: UInt = #line) throws {
        var half = o
        let steps = try XCTUnwrap(o.steps)
        half.steps = steps / 2
        _ = try CharTrainer(text: text, options: o, output: straight).run()
        _ = try CharTrainer(text: text, options: half, output: split).run()
        let resumed = try CharTrainer(resume: split, text: nil, steps: steps, epochs: nil)
        try check(resumed)
        _ = try resumed.run()
        for name in ["last.safetensors", "best.safetensors"] {
            XCTAssertEqual(try self.file(straight, name), try self.file(split, name), name, file: file, line: line)
        }
    }

    /// The bytes of a run's file (`last.safetensors` unless named).
    func file(_ folder: String, _ name: String = "last.safetensors") throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
    }

    func testTrainingLearnsAndWritesItsFiles() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(4000))
        let out = dir.file("run")
        let trainer = try CharTrainer(text: text, options: options(steps: 60), output: out)
        var evaluations: [Double] = []
        let summary = try trainer.run(report: { event in
            if case let .evaluation(_, _, v, _) = event { evaluations.append(v!) }
        })
        XCTAssertEqual(summary.steps, 60)
        XCTAssertEqual(evaluations.count, 6)
        XCTAssertLessThan(evaluations.last!, evaluations.first! - 0.3, "validation loss \(evaluations)")
        for name in ["last.safetensors", "best.safetensors", "metrics.jsonl", "loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent(name)), name)
        }
        let lines = try String(contentsOfFile: (out as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, 6)
        // No temporary files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["best.safetensors", "last.safetensors", "loss.svg", "metrics.jsonl"])
        // The best checkpoint scores the validation text as the trainer measured it.
        let best = try CharLanguageModel(contentsOf: (out as NSString).appendingPathComponent("best.safetensors"))
        XCTAssertEqual(best.configuration.vocabulary, trainer.model.configuration.vocabulary)
        // A second fresh run into the same folder is refused: nothing is overwritten.
        XCTAssertThrowsError(try CharTrainer(text: text, options: options(steps: 60), output: out)) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
    }

    /// N steps, then a resume for N more, gives the same checkpoint bytes as 2N straight.
    func testResumeIsBitExact() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        let straight = dir.file("straight"), split = dir.file("split")
        _ = try CharTrainer(text: text, options: options(steps: 40), output: straight).run()
        _ = try CharTrainer(text: text, options: options(steps: 20), output: split).run()
        let resumed = try CharTrainer(resume: split, text: nil, steps: 40, epochs: nil)
        XCTAssertEqual(resumed.step, 20)
        _ = try resumed.run()
        for name in ["last.safetensors", "best.safetensors"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: (straight as NSString).appendingPathComponent(name)))
            let b = try Data(contentsOf: URL(fileURLWithPath: (split as NSString).appendingPathComponent(name)))
            XCTAssertEqual(a, b, "\(name) differs")
        }
    }

    /// --output-dropout: saved in the training state, kept by a resume (bit-exact with the run
    /// straight through); a run without it saves no such field, and one saved without it reads as 0.
    func testOutputDropoutIsSavedAndResumed() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        var o = options(steps: 40)
        o.outputDropout = 0.3
        let straight = dir.file("straight"), split = dir.file("split")
        _ = try CharTrainer(text: text, options: o, output: straight).run()
        o.steps = 20
        _ = try CharTrainer(text: text, options: o, output: split).run()
        let resumed = try CharTrainer(resume: split, text: nil, steps: 40, epochs: nil)
        XCTAssertEqual(resumed.options.outputDropout, 0.3)
        XCTAssertEqual(resumed.model.model.outputDropout, 0.3)
        _ = try resumed.run()
        for name in ["last.safetensors", "best.safetensors"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: (straight as NSString).appendingPathComponent(name)))
            let b = try Data(contentsOf: URL(fileURLWithPath: (split as NSString).appendingPathComponent(name)))
            XCTAssertEqual(a, b, "\(name) differs")
        }
        func training(_ folder: String) throws -> String {
            try XCTUnwrap(SafetensorsFile(contentsOf: (folder as NSString).appendingPathComponent("last.safetensors")).metadata["training"])
        }
        let saved = try training(split)
        XCTAssertTrue(saved.contains("\"dropout\": 0.10000000149011612, \"output_dropout\": 0.30000001192092896, "), saved)
        let plain = dir.file("plain")
        _ = try CharTrainer(text: text, options: options(steps: 2), output: plain).run()
        let plainSaved = try training(plain)
        XCTAssertFalse(plainSaved.contains("output_dropout"), plainSaved)
        XCTAssertEqual(try CharTrainer(resume: plain, text: nil, steps: 4, epochs: nil).options.outputDropout, 0)
    }

    /// --weight-drop: saved in the training state and kept by a resume (bit-exact with the run
    /// straight through); it changes training, and a run without it saves no such field.
    func testWeightDropIsSavedAndResumed() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        var o = options(steps: 30)
        o.weightDrop = 0.25
        let (straight, split, plain) = (dir.file("straight"), dir.file("split"), dir.file("plain"))
        try assertResumeEqualsStraight(o, text: text, straight: straight, split: split) { resumed in
            XCTAssertEqual(resumed.options.weightDrop, 0.25)
            XCTAssertEqual(resumed.model.model.stack.weightDrop, 0.25)
        }
        _ = try CharTrainer(text: text, options: options(steps: 30), output: plain).run()
        XCTAssertNotEqual(try file(straight), try file(plain), "the weight drop did not act")
        let saved = try XCTUnwrap(SafetensorsFile(contentsOf: (plain as NSString).appendingPathComponent("last.safetensors"))
            .metadata["training"])
        XCTAssertFalse(saved.contains("weight_drop"), saved)
        XCTAssertThrowsError(try { var bad = options(steps: 1); bad.weightDrop = 1; try bad.validate() }())
    }

    /// --ema: saved in the training state, kept by a resume (bit-exact with the run straight
    /// through, the trained weights restored from `train.weights`); the checkpoints' model is the
    /// average, and the training itself is unchanged.
    func testTheMovingAverageIsSavedAndResumed() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        var o = options(steps: 30)
        o.averageDecay = 0.9
        let (straight, split, plain) = (dir.file("straight"), dir.file("split"), dir.file("plain"))
        try assertResumeEqualsStraight(o, text: text, straight: straight, split: split) { resumed in
            XCTAssertEqual(resumed.options.averageDecay, 0.9)
        }
        func path(_ folder: String, _ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        _ = try CharTrainer(text: text, options: options(steps: 30), output: plain).run()
        // The trained weights are the run without the average's; the model saved is not.
        let averaged = try SafetensorsFile(contentsOf: path(straight, "last.safetensors"))
        let trained = try averaged.floats("train.weights")
        let plainModel = try CharLanguageModel(contentsOf: path(plain, "last.safetensors"))
        XCTAssertEqual(trained, Array(UnsafeBufferPointer(start: plainModel.arena.values, count: plainModel.arena.count)))
        let averagedModel = try CharLanguageModel(contentsOf: path(straight, "last.safetensors"))
        XCTAssertNotEqual(trained, Array(UnsafeBufferPointer(start: averagedModel.arena.values, count: averagedModel.arena.count)))
        XCTAssertTrue(try XCTUnwrap(averaged.metadata["training"]).contains("\"ema\": 0.8999999761581421"))
        let plainSaved = try SafetensorsFile(contentsOf: path(plain, "last.safetensors"))
        XCTAssertFalse(plainSaved.tensors.contains { $0.name == "train.weights" })
        XCTAssertFalse(try XCTUnwrap(plainSaved.metadata["training"]).contains("ema"))
        XCTAssertThrowsError(try { var bad = options(steps: 1); bad.averageDecay = 1; try bad.validate() }())
    }

    /// `--matmul-precision bf16`: another run than float32's that still learns; saved with the run
    /// and kept on resume (a run cut in two ends with the bytes of one run); the same bytes on one
    /// kernel thread as on two.
    func testBF16ProductsAreSavedAndResumed() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        var o = options(steps: 30)
        o.hiddenSize = 48
        o.matmulPrecision = .bf16
        let (straight, split, plain, single) = (dir.file("straight"), dir.file("split"), dir.file("plain"), dir.file("single"))
        try assertResumeEqualsStraight(o, text: text, straight: straight, split: split) { resumed in
            XCTAssertEqual(resumed.options.matmulPrecision, .bf16)
        }
        let threads = GEMM.threads
        GEMM.threads = 1
        defer { GEMM.threads = threads }
        var losses: [Double] = []
        _ = try CharTrainer(text: text, options: o, output: single).run(report: { event in
            if case let .evaluation(_, _, v, _) = event { losses.append(v!) }
        })
        XCTAssertEqual(try file(straight), try file(single))
        XCTAssertLessThan(losses.last!, losses.first! - 0.2, "validation loss \(losses)")
        var fp32 = o
        fp32.matmulPrecision = .fp32
        _ = try CharTrainer(text: text, options: fp32, output: plain).run()
        func weights(_ folder: String) throws -> [Float] {
            let m = try CharLanguageModel(contentsOf: (folder as NSString).appendingPathComponent("last.safetensors"))
            return Array(UnsafeBufferPointer(start: m.arena.values, count: m.arena.count))
        }
        XCTAssertNotEqual(try weights(straight), try weights(plain))
        let saved = try SafetensorsFile(contentsOf: (straight as NSString).appendingPathComponent("last.safetensors"))
        XCTAssertTrue(try XCTUnwrap(saved.metadata["training"]).contains("\"matmul_precision\": \"bf16\""))
        let plainSaved = try SafetensorsFile(contentsOf: (plain as NSString).appendingPathComponent("last.safetensors"))
        XCTAssertFalse(try XCTUnwrap(plainSaved.metadata["training"]).contains("matmul_precision"))
    }

    /// `--optimizer adamw`: its decay shrinks the weights (another run than Adam's), and a run cut
    /// in two and resumed ends with the bytes of one run.
    func testAdamWIsSavedAndResumed() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        var o = options(steps: 30)
        o.optimizer = .adamw
        let (straight, split, adam) = (dir.file("straight"), dir.file("split"), dir.file("adam"))
        try assertResumeEqualsStraight(o, text: text, straight: straight, split: split) { resumed in
            XCTAssertEqual(resumed.options.optimizer, .adamw)
            XCTAssertEqual((resumed.optimizer as? Adam)?.decoupledWeightDecay, true)
        }
        _ = try CharTrainer(text: text, options: options(steps: 30), output: adam).run()
        XCTAssertNotEqual(try file(straight), try file(adam), "AdamW trained as Adam")
    }

    /// The dropout changes training only: validation, scoring and sampling give what the same
    /// weights give without it.
    func testOutputDropoutLeavesEvaluationAlone() throws {
        let text = generatedText(3000)
        let config = CharModelConfiguration(cell: .lstm, vocabulary: Vocabulary(text: text), embeddingSize: 8, hiddenSize: 16, layers: 2)
        var o = options(steps: 10)
        (o.dropout, o.outputDropout) = (0, 0.5)
        let dropped = try CharLanguageModel(configuration: config, outputDropout: 0.5, seed: 3)
        let plain = try CharLanguageModel(configuration: config, seed: 3)
        let withDropout = try CharModelTask(model: dropped, text: text, textPath: "text", options: o)
        o.outputDropout = 0
        let without = try CharModelTask(model: plain, text: text, textPath: "text", options: o)
        XCTAssertEqual(withDropout.validationLoss(), without.validationLoss())
        let ids = try config.vocabulary.encode(String(text.prefix(500)), source: "text")
        XCTAssertEqual(dropped.negativeLogLikelihood(ids).nats, plain.negativeLogLikelihood(ids).nats)
        var a = "", b = ""
        try dropped.sample(length: 100, seed: 4) { a.append($0) }
        try plain.sample(length: 100, seed: 4) { b.append($0) }
        XCTAssertEqual(a, b)
        // In training it does act.
        var rng = SeededGenerator(seed: 1)
        for task in [withDropout, without] {
            let k = task.batch(step: 0, rng: &rng)
            task.forward(k, training: true, rng: &rng)
        }
        XCTAssertNotEqual(withDropout.loss(0).sum, without.loss(0).sum)
    }

    func testStopWritesTheLastCheckpoint() throws {
        let dir = TemporaryFolder()
        let text = dir.write("text.txt", generatedText(3000))
        let out = dir.file("run")
        var calls = 0
        let summary = try CharTrainer(text: text, options: options(steps: 40), output: out).run(shouldStop: {
            calls += 1
            return calls > 7
        })
        XCTAssertTrue(summary.interrupted)
        XCTAssertEqual(summary.steps, 7)
        let resumed = try CharTrainer(resume: out, text: nil, steps: nil, epochs: nil)
        XCTAssertEqual(resumed.step, 7)
        XCTAssertEqual(resumed.totalSteps, 40)
    }

    func testBadTrainingInputsAreRefused() throws {
        let dir = TemporaryFolder()
        let short = dir.write("short.txt", "abcdefghij")
        XCTAssertThrowsError(try CharTrainer(text: short, options: options(steps: 5), output: dir.file("a"))) {
            XCTAssertTrue("\($0)".contains("needs at least 68 (B·(T+1))"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("a")), "nothing written for a refused run")
        XCTAssertThrowsError(try CharTrainer(resume: dir.file("nothing"), text: nil, steps: nil, epochs: nil)) {
            XCTAssertTrue("\($0)".contains("no last.safetensors to resume from"))
        }
        let text = dir.write("text.txt", generatedText(3000))
        let out = dir.file("run")
        _ = try CharTrainer(text: text, options: options(steps: 10), output: out).run()
        let other = dir.write("other.txt", generatedText(3000, seed: 9))
        XCTAssertThrowsError(try CharTrainer(resume: out, text: other, steps: 20, epochs: nil)) {
            XCTAssertTrue("\($0)".contains("not the text the checkpoint"), "\($0)")
        }
        var bad = options(steps: 10)
        bad.dropout = 1
        XCTAssertThrowsError(try CharTrainer(text: text, options: bad, output: dir.file("b")))
        for p: Float in [1, -0.1] {
            bad = options(steps: 10)
            bad.outputDropout = p
            XCTAssertThrowsError(try CharTrainer(text: text, options: bad, output: dir.file("c"))) {
                XCTAssertEqual("\($0)", "invalid output-dropout '\(p)': expected 0 <= p < 1")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("c")))
    }
}
