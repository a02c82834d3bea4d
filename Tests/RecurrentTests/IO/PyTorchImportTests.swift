import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// State dicts saved by PyTorch (Fixtures/make_import_fixtures.py) loaded by name: modules found
/// whatever their prefix, layer count, direction, bias and dtype; outputs equal PyTorch's; our
/// checkpoint survives a trip through PyTorch byte for byte.
final class PyTorchImportTests: XCTestCase {
    struct Module: Decodable {
        let prefix: String
        let batch: Int, steps: Int
        let x: [Float], y: [Float], h: [Float]
        let c: [Float]?
    }
    struct WordModel: Decodable { let text: String; let nats_per_char: Double }
    struct Expected: Decodable { let tagger: Module; let gru_bare: Module; let relu: Module; let lstm_proj: Module; let wlm: WordModel }

    func fixture(_ name: String, _ ext: String = "safetensors") throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures")).path
    }

    func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("import_expected", "json"))))
    }

    /// Largest |ours − theirs| / (1 + |theirs|).
    func difference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
    }

    /// Runs the module PyTorch ran and compares y, h_n (and c_n).
    func check(_ file: String, _ fx: Module, kind: CellKind? = nil, expect summary: String) throws {
        let (dy, dh, dc) = try differences(file, fx, kind: kind, expect: summary)
        XCTAssertLessThan(max(dy, dh, dc), 1e-5, "\(file): y \(dy), h_n \(dh), c_n \(dc)")
    }

    func differences(_ file: String, _ fx: Module, kind: CellKind?, expect summary: String) throws -> (Float, Float, Float) {
        let dict = try PyTorchStateDict(SafetensorsFile(contentsOf: fixture(file)))
        XCTAssertEqual(dict.recurrentModules.map(\.summary), [summary])
        let (stack, arena) = try dict.stack(dict.recurrentModule(fx.prefix), kind: kind)
        var rng = SeededGenerator(seed: 0)
        let (y, state) = try stack.forward(fx.x, batch: fx.batch, steps: fx.steps, rng: &rng,
                                           workspace: RecurrentStackWorkspace(), arena: arena)
        let h = stack.layerOutputSize, s = stack.stateSize
        var hn: [Float] = [], cn: [Float] = []
        for row in 0..<(state.count / s) {
            hn += state[(row * s)..<(row * s + h)]
            if s > h { cn += state[(row * s + h)..<((row + 1) * s)] }
        }
        return (difference(y, fx.y), difference(hn, fx.h), fx.c.map { difference(cn, $0) } ?? 0)
    }

    func testBidirectionalLSTMUnderAPrefix() throws {
        try check("import_tagger", expected().tagger, expect: "nn.LSTM 'encoder': 2 layers, bidirectional, input 5, hidden 6")
    }

    func testBareGRUWithoutBiasInFloat16() throws {
        try check("import_gru_bare", expected().gru_bare, expect: "nn.GRU: 3 layers, input 4, hidden 5, no bias")
    }

    func testLSTMWithProjections() throws {
        try check("import_lstm_proj", expected().lstm_proj,
                  expect: "nn.LSTM: 2 layers, bidirectional, input 3, hidden 6, projections 4")
    }

    func testReluRNNInAModuleListInBFloat16() throws {
        let fx = try expected().relu
        try check("import_relu", fx, kind: .rnnRelu, expect: "nn.RNN 'layers.0': 2 layers, bidirectional, input 3, hidden 4")
        // Loaded as tanh (the state dict cannot say), the outputs differ: the check can fail.
        let tanh = try differences("import_relu", fx, kind: .rnnTanh, expect: "nn.RNN 'layers.0': 2 layers, bidirectional, input 3, hidden 4")
        XCTAssertGreaterThan(tanh.0, 1e-2)
        let dict = try PyTorchStateDict(SafetensorsFile(contentsOf: fixture("import_relu")))
        XCTAssertThrowsError(try dict.stack(dict.recurrentModules[0], kind: .lstm))
    }

    func testWordLanguageModelNamesImportAsACharacterModel() throws {
        let fx = try expected().wlm
        let dict = try PyTorchStateDict(SafetensorsFile(contentsOf: fixture("import_wlm")))
        let model = try CharLanguageModel(importing: dict, vocabulary: Vocabulary(text: fx.text))
        XCTAssertEqual(model.configuration.cell, .gru)
        XCTAssertEqual(model.configuration.layers, 2)
        let ids = try model.configuration.vocabulary.encode(fx.text)
        let (nats, n) = model.negativeLogLikelihood(ids)
        XCTAssertEqual(nats / Double(n), fx.nats_per_char, accuracy: 1e-5 * fx.nats_per_char)
        // The same modules named explicitly; a wrong name is refused.
        _ = try CharLanguageModel(importing: dict, vocabulary: Vocabulary(text: fx.text),
                                  options: CharModelImportOptions(embedding: "encoder.weight", recurrent: "rnn", head: "decoder"))
        XCTAssertThrowsError(try CharLanguageModel(importing: dict, vocabulary: Vocabulary(text: fx.text),
                                                   options: CharModelImportOptions(head: "norm")))
        // Without a vocabulary the V rows mean nothing.
        XCTAssertThrowsError(try CharLanguageModel(importing: dict, vocabulary: nil)) { error in
            XCTAssertTrue("\(error)".contains("--vocab-from"), "\(error)")
        }
        XCTAssertThrowsError(try CharLanguageModel(importing: dict, vocabulary: Vocabulary(text: "abc")))
    }

    func bytes(_ file: SafetensorsFile, _ t: SafetensorsFile.TensorInfo) -> Data {
        file.data.subdata(in: (file.data.startIndex + t.range.lowerBound)..<(file.data.startIndex + t.range.upperBound))
    }

    /// rnn train's checkpoint → PyTorch (load_state_dict, state_dict(), save_file) → import:
    /// every contract tensor comes back with the same bytes, and the file equals the original's
    /// tensors with its config.
    func testRoundTripThroughPyTorchIsByteIdentical() throws {
        try checkRoundTrip("roundtrip")
    }

    /// The same with `rnn train --proj-size 5`: `weight_hr_l{k}` and the config's `proj_size`.
    func testRoundTripOfLSTMWithProjectionsIsByteIdentical() throws {
        try checkRoundTrip("roundtrip_proj")
        let ours = try SafetensorsFile(contentsOf: fixture("roundtrip_proj_ours"))
        XCTAssertNotNil(ours["rnn.weight_hr_l1"])
        XCTAssertTrue(ours.metadata["config"]?.contains("\"proj_size\": 5") == true)
    }

    func checkRoundTrip(_ name: String) throws {
        let ours = try SafetensorsFile(contentsOf: fixture(name + "_ours"))
        let torch = try SafetensorsFile(contentsOf: fixture(name + "_torch"))
        XCTAssertNil(torch.metadata["config"], "PyTorch's save has no config: the vocabulary must come from elsewhere")
        let model = try CharLanguageModel(importing: PyTorchStateDict(torch), vocabulary: Vocabulary(source: fixture(name + "_ours")))
        let back = try SafetensorsFile(bytes: model.checkpointData())
        XCTAssertEqual(back.tensors.map(\.name), ours.tensors.map(\.name))
        for t in ours.tensors {
            let b = try XCTUnwrap(back[t.name])
            XCTAssertEqual(bytes(back, b), bytes(ours, t), t.name)
        }
        XCTAssertEqual(back.metadata["config"], ours.metadata["config"])
    }

    func testNamesAreParsedStrictly() {
        XCTAssertEqual(PyTorchStateDict.parseRecurrentName("enc.lstm.weight_ih_l12_reverse")?.prefix, "enc.lstm")
        XCTAssertEqual(PyTorchStateDict.parseRecurrentName("weight_hh_l0")?.prefix, "")
        XCTAssertEqual(PyTorchStateDict.parseRecurrentName("bias_hh_l3")?.layer, 3)
        XCTAssertNil(PyTorchStateDict.parseRecurrentName("myweight_ih_l0"))
        XCTAssertNil(PyTorchStateDict.parseRecurrentName("rnn.weight_ih_l"))
        XCTAssertNil(PyTorchStateDict.parseRecurrentName("rnn.weight_ih_lx"))
        XCTAssertNil(PyTorchStateDict.parseRecurrentName("rnn.weight_ih_l99999999"))
    }

    /// A head tied to the embedding (word_language_model --tied): the file keeps the shared
    /// weight once, as the embedding, and the head's bias alone; the head reads the embedding.
    func testTiedHeadUsesTheEmbedding() throws {
        func e(_ name: String, _ shape: [Int], _ seed: Float) -> SafetensorsFile.Entry {
            .init(name, shape: shape, floats: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.01 * seed - 0.02 })
        }
        let (v, h) = (5, 3)
        let entries = [e("encoder.weight", [v, h], 1), e("rnn.weight_ih_l0", [3 * h, h], 2), e("rnn.weight_hh_l0", [3 * h, h], 3),
                       e("rnn.bias_ih_l0", [3 * h], 4), e("rnn.bias_hh_l0", [3 * h], 5), e("decoder.bias", [v], 6)]
        let file = try SafetensorsFile(bytes: SafetensorsFile.encode(entries, metadata: [:]), path: "tied.safetensors")
        let model = try CharLanguageModel(importing: PyTorchStateDict(file), vocabulary: Vocabulary(text: "abcde"))
        let arena = model.arena
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.value(arena["head.weight"]!), count: v * h)), entries[0].floats)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.value(arena["head.bias"]!), count: v)), entries[5].floats)
        // safetensors.torch.save_model keeps the head's name instead: decoder.weight and decoder.bias.
        var headNamed = Array(entries.dropFirst().dropLast())
        headNamed += [.init("decoder.weight", shape: [v, h], floats: try XCTUnwrap(entries[0].floats)), entries[5]]
        let saved = try SafetensorsFile(bytes: SafetensorsFile.encode(headNamed, metadata: [:]), path: "tied2.safetensors")
        let same = try CharLanguageModel(importing: PyTorchStateDict(saved), vocabulary: Vocabulary(text: "abcde"))
        for name in ["embedding.weight", "head.weight", "head.bias"] + model.contractNames {
            let p = try XCTUnwrap(arena[name])
            XCTAssertEqual(Array(UnsafeBufferPointer(start: same.arena.value(p), count: p.count)),
                           Array(UnsafeBufferPointer(start: arena.value(p), count: p.count)), name)
        }
        // Without the lone bias there is no head to find.
        let untied = try SafetensorsFile(bytes: SafetensorsFile.encode(Array(entries.dropLast()), metadata: [:]), path: "x.safetensors")
        XCTAssertThrowsError(try CharLanguageModel(importing: PyTorchStateDict(untied), vocabulary: Vocabulary(text: "abcde"))) { error in
            XCTAssertTrue("\(error)".contains("no output layer"), "\(error)")
        }
    }

    /// Broken state dicts: each refused with a message naming the tensor.
    func testInconsistentModulesAreRefused() throws {
        func dict(_ entries: [SafetensorsFile.Entry]) throws -> PyTorchStateDict {
            try PyTorchStateDict(SafetensorsFile(bytes: SafetensorsFile.encode(entries, metadata: [:]), path: "sd.safetensors"))
        }
        func e(_ name: String, _ shape: [Int]) -> SafetensorsFile.Entry {
            .init(name, shape: shape, floats: [Float](repeating: 0.5, count: shape.reduce(1, *)))
        }
        let good = [e("rnn.weight_ih_l0", [8, 3]), e("rnn.weight_hh_l0", [8, 2]), e("rnn.bias_ih_l0", [8]), e("rnn.bias_hh_l0", [8])]
        XCTAssertEqual(try dict(good).recurrentModules.first?.kind, .lstm)
        let cases: [([SafetensorsFile.Entry], String)] = [
            (Array(good.dropFirst()), "no weight_ih_l0"),
            (good + [e("rnn.weight_ih_l1", [8, 2])], "missing tensor 'rnn.weight_hh_l1'"),
            ([e("rnn.weight_ih_l0", [8, 3]), e("rnn.weight_hh_l0", [10, 2])], "G = 4 (LSTM), 3 (GRU) or 1 (RNN)"),
            ([e("rnn.weight_ih_l0", [6, 3]), e("rnn.weight_hh_l0", [8, 2])], "weight_ih_l0 has shape [6, 3]"),
            (Array(good.dropLast()), "missing tensor 'rnn.bias_hh_l0'"),
            (good + [e("rnn.weight_hr_l0", [2, 2])], "weight_hr_l0 has shape [2, 2]"),
            (good + [e("rnn.weight_ih_l0_reverse", [8, 3]), e("rnn.weight_hh_l0_reverse", [8, 2])], "missing tensor 'rnn.bias_ih_l0_reverse'"),
        ]
        for (entries, message) in cases {
            XCTAssertThrowsError(try dict(entries)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) should say \(message)")
            }
        }
        var nan = good
        nan[1] = .init("rnn.weight_hh_l0", shape: [8, 2], floats: [Float](repeating: .nan, count: 16))
        let d = try dict(nan)
        XCTAssertThrowsError(try d.stack(d.recurrentModules[0])) { error in XCTAssertTrue("\(error)".contains("finite"), "\(error)") }
    }
}
