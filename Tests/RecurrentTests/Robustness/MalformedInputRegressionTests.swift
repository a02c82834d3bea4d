import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Inputs that used to trap (or to make us allocate without bound) and now throw a RecurrentError.
/// Found by the libFuzzer targets in Fuzz/ and by reading the loading code around them.
final class MalformedInputRegressionTests: XCTestCase {
    func tinyModel(cell: CellKind = .gru) throws -> CharLanguageModel {
        let config = CharModelConfiguration(cell: cell, vocabulary: Vocabulary(text: "ab \n"), embeddingSize: 2,
                                            hiddenSize: 3, layers: 1)
        return try CharLanguageModel(configuration: config, seed: 3)
    }

    func checkpoint(_ model: CharLanguageModel, config: String? = nil,
                    edit: (inout [String: [Float]]) -> Void = { _ in }) throws -> SafetensorsFile {
        var values: [String: [Float]] = [:]
        for e in model.contractEntries() { values[e.name] = e.floats! }
        edit(&values)
        let entries = model.contractEntries().map { SafetensorsFile.Entry($0.name, shape: $0.shape, floats: values[$0.name]!) }
        let data = SafetensorsFile.encode(entries, metadata: ["config": config ?? model.configuration.json])
        return try SafetensorsFile(bytes: data, path: "x.safetensors")
    }

    func assertRefused(_ body: @autoclosure () throws -> Any, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is RecurrentError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(needle), "\(error) lacks \(needle)", file: file, line: line)
        }
    }

    /// Fuzzer crash (safetensors target): finite weights whose products overflow Float32 gave NaN
    /// probabilities, no character was drawn, and `vocab.symbol(-1)` trapped (index out of range).
    func testSamplingFromOverflowingWeightsThrowsInsteadOfTrapping() throws {
        let file = try checkpoint(try tinyModel()) { v in
            // GRU gates r, z, n: z ≈ 0 and n ≈ tanh(10), so h ≈ (1, 1, 1); then
            // max · Σh + max overflows to +∞ in every logit, and softmax gives ∞ − ∞ = NaN.
            v["rnn.bias_ih_l0"] = [10, 10, 10, -10, -10, -10, 10, 10, 10]
            v["head.weight"] = v["head.weight"]!.map { _ in .greatestFiniteMagnitude }
            v["head.bias"] = v["head.bias"]!.map { _ in .greatestFiniteMagnitude }
        }
        let model = try CharLanguageModel(checkpoint: file)   // finite: accepted
        assertRefused(try model.sample(length: 3, prime: "a", seed: 1) { _ in }, "overflow Float32")
        assertRefused(try model.sample(length: 3, topK: 2, prime: "a", seed: 1) { _ in }, "overflow Float32")
    }

    /// A 100-byte config that declares a 2²⁰ × 2²⁰ model must be refused from its tensors' shapes
    /// before anything of that size is allocated (it used to allocate the arena first).
    func testAHugeConfigIsRefusedBeforeAllocating() throws {
        let model = try tinyModel()
        let huge = "{\"cell\": \"gru\", \"vocab\": [\"a\", \"b\"], \"embedding_size\": 1048576, \"hidden_size\": 1048576, \"num_layers\": 1}"
        assertRefused(try CharLanguageModel(checkpoint: try checkpoint(model, config: huge)), "has shape")
        // And a layer count the file cannot hold, before the layout is even built.
        let deep = "{\"cell\": \"gru\", \"vocab\": [\"a\", \"b\", \" \", \"\\n\"], \"embedding_size\": 2, \"hidden_size\": 3, \"num_layers\": 1048576}"
        assertRefused(try CharLanguageModel(checkpoint: try checkpoint(model, config: deep)), "1048576 layers")
    }

    /// Task checkpoints: a target vocabulary without <bos>/<eos> trapped on `beginID!` in the
    /// seq2seq network; a huge longest_target overflowed `2 · longest + 10`.
    func testTaskMetadataThatUsedToTrap() throws {
        var spec = TaskSpecification(kind: .seq2seq)
        spec.inputVocabulary = TokenVocabulary(building: ["1", "+"], withBoundaries: false)
        spec.targetVocabulary = TokenVocabulary(building: ["3"], withBoundaries: true)
        spec.longestTarget = 1
        spec.hiddenSize = 2
        spec.embeddingSize = 2
        XCTAssertEqual(try TaskSpecification(json: spec.json, path: "t"), spec)
        let noBOS = spec.json.replacingOccurrences(of: "\"<bos>\", ", with: "")
        assertRefused(try TaskSpecification(json: noBOS, path: "t"), "lacks <bos> or <eos>")
        for bad in ["9223372036854775807", "1e300", "-20", "\"7\""] {
            let json = spec.json.replacingOccurrences(of: "\"longest_target\": 1", with: "\"longest_target\": \(bad)")
            assertRefused(try TaskSpecification(json: json, path: "t"), "longest_target")
        }
    }

    /// Resuming from a checkpoint whose training state says step −7 indexed the text at a
    /// negative offset (index out of range); NaN in the saved state is refused too.
    func testResumingFromABadTrainingStateThrows() throws {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-robust-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = CharTrainingOptions()
        (o.hiddenSize, o.layers, o.batch, o.sequence, o.steps) = (3, 1, 2, 5, 2)
        let text = String(repeating: "to be or not to be. ", count: 20)
        let textPath = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-robust-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: textPath, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: textPath) }
        _ = try CharTrainer(text: textPath, options: o, output: dir).run()
        let good = try SafetensorsFile(contentsOf: (dir as NSString).appendingPathComponent("last.safetensors"))
        func resume(_ training: String) throws -> CharTrainer {
            var metadata = good.metadata
            metadata["training"] = training
            let entries = try good.tensors.map { t -> SafetensorsFile.Entry in
                t.dtype == .u64 ? .init(t.name, shape: t.shape, words: try good.integers(t.name))
                                : .init(t.name, shape: t.shape, floats: try good.floats(t.name))
            }
            let file = try SafetensorsFile(bytes: SafetensorsFile.encode(entries, metadata: metadata), path: "last.safetensors")
            return try CharTrainer(resuming: file, folder: dir, text: nil, steps: nil, epochs: nil)
        }
        XCTAssertNoThrow(try resume(good.metadata["training"]!))
        assertRefused(try resume(good.metadata["training"]!.replacingOccurrences(of: "\"step\": 2", with: "\"step\": -7")), "step -7")
        assertRefused(try resume(good.metadata["training"]!.replacingOccurrences(of: "\"optimizer_steps\": 2", with: "\"optimizer_steps\": -1")),
                      "optimizer_steps -1")
    }

    /// JSONL fuzzer crash: 1e39 fits a Double but becomes +∞ as Float32; the feature statistics
    /// became ∞/NaN and the checkpoint's task metadata could not be read back ("inf", "nan").
    func testNumbersBeyondFloat32AreRefusedPerLine() throws {
        let text = "{\"input\": [[0.5, 2]], \"target\": [1]}\n{\"input\": [[1e39, 2]], \"target\": [1]}\n"
        XCTAssertThrowsError(try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("d.jsonl:2: "), "\(error)")
        }
        let skipped = try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true, onError: .skip)
        XCTAssertEqual(skipped.examples.count, 1)
        XCTAssertThrowsError(try JSONLDataset(text: "{\"input\": \"a\", \"target\": -1e300}\n", path: "d.jsonl", requireTarget: true))
    }

    /// A constant large feature: E[x²] − E[x]² rounded below zero, √ gave NaN, and max(NaN, 1e-6)
    /// kept the NaN (the spec's feature_std was "nan" and the checkpoint unreadable).
    func testConstantLargeFeaturesGiveAFiniteStandardDeviation() throws {
        let lines = (0..<7).map { i in "{\"input\": [[3.3e7, \(i)], [3.3e7, 1]], \"target\": \(i)}" }.joined(separator: "\n")
        let data = try JSONLDataset(text: lines, path: "d.jsonl", requireTarget: true)
        let spec = try TaskSpecification.build(kind: .regress, examples: data.examples, path: "d.jsonl", tokenization: .char)
        XCTAssertTrue(spec.featureStd.allSatisfy { $0.isFinite && $0 > 0 }, "\(spec.featureStd)")
        XCTAssertNoThrow(try TaskSpecification(json: spec.json, path: "t"))
    }
}
