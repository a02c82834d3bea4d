import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// A test-only protobuf reader: one message's fields, by number, in the order written.
struct ProtobufMessage {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes([UInt8])
        case fixed32(UInt32)
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    let fields: [(number: Int, value: Value)]

    init<C: Collection>(_ data: C) throws where C.Element == UInt8 {
        let bytes = Array(data)
        var i = 0
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw Malformed(description: "varint runs past the end at \(i)") }
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
        }
        func take(_ n: Int) throws -> [UInt8] {
            guard n >= 0, i + n <= bytes.count else { throw Malformed(description: "\(n) bytes past the end at \(i)") }
            defer { i += n }
            return Array(bytes[i..<(i + n)])
        }
        var fields: [(Int, Value)] = []
        while i < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) })))
            case 2: fields.append((number, .bytes(try take(Int(try varint())))))
            case 5: fields.append((number, .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) })))
            default: throw Malformed(description: "wire type \(key & 7) at \(i)")
            }
        }
        self.fields = fields
    }

    func varints(_ n: Int) -> [UInt64] {
        fields.compactMap { if $0.number == n, case let .varint(v) = $0.value { return v } else { return nil } }
    }

    func data(_ n: Int) -> [[UInt8]] {
        fields.compactMap { if $0.number == n, case let .bytes(b) = $0.value { return b } else { return nil } }
    }

    func strings(_ n: Int) -> [String] { data(n).map { String(decoding: $0, as: UTF8.self) } }

    func messages(_ n: Int) throws -> [ProtobufMessage] { try data(n).map(ProtobufMessage.init) }

    func message(_ n: Int) throws -> ProtobufMessage {
        let all = try messages(n)
        guard all.count == 1 else { throw Malformed(description: "field \(n) occurs \(all.count) times") }
        return all[0]
    }
}

final class ONNXExportTests: XCTestCase {
    /// onnx_expected.json, written by make_onnx_fixtures.py from ONNX Runtime.
    struct Expected: Decodable {
        struct Chunk: Decodable {
            let steps: Int
            let tokens: [Int32]
            let logits: [Float]
            let hn: [Float]
            let cn: [Float]?
        }
        struct Model: Decodable {
            let cell: String
            let checkpoint: String
            let onnx: String
            let layers: Int
            let hidden: Int
            let vocab: Int
            let h0: [Float]
            let c0: [Float]?
            let chunks: [Chunk]
        }
        let batch: Int
        let models: [Model]
    }

    func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: name)
        return try XCTUnwrap(Bundle.module.path(forResource: url.deletingPathExtension().lastPathComponent,
                                                ofType: url.pathExtension, inDirectory: "Fixtures"), name)
    }

    func expected() throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: try fixture("onnx_expected.json")))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        XCTAssertEqual(Set(expected.models.map(\.cell)), ["lstm", "gru", "rnn_tanh", "rnn_relu"])
        return expected
    }

    /// The exporter reproduces, byte for byte, the committed files that ONNX Runtime ran; through
    /// `exportONNX` too, which writes the same bytes to disk.
    func testExportGivesTheCommittedBytes() throws {
        let dir = TemporaryFolder()
        for m in try expected().models {
            let committed = try Data(contentsOf: URL(fileURLWithPath: try fixture(m.onnx)))
            let model = try CharLanguageModel(contentsOf: try fixture(m.checkpoint))
            let bytes = try model.onnxModel().serialized()
            if bytes != committed {
                let first = zip(bytes, committed).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(bytes.count, committed.count)
                XCTFail("\(m.cell): \(bytes.count) bytes exported, \(committed.count) committed; first difference at byte \(first)")
            }
            let out = dir.file("\(m.cell).onnx")
            let summary = try exportONNX(checkpoint: try fixture(m.checkpoint), to: out)
            XCTAssertEqual(summary.bytes, committed.count)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), committed, m.cell)
        }
    }

    /// Our forward over the same two chunks, state carried, matches ONNX Runtime's logits and final states.
    func testForwardMatchesONNXRuntimeAcrossChunks() throws {
        let expected = try expected()
        let b = expected.batch
        for m in expected.models {
            let model = try CharLanguageModel(contentsOf: try fixture(m.checkpoint))
            let (l, h, v) = (m.layers, m.hidden, m.vocab)
            let lstm = m.cell == "lstm"
            XCTAssertEqual(model.configuration.cell.rawValue, m.cell)
            XCTAssertEqual(model.configuration.hiddenSize, h)
            // Our state is (L, B, S) with S = 2H for LSTM, each row [h | c]; ONNX's are h (L, B, H) and c (L, B, H).
            let s = model.model.stack.stateSize
            XCTAssertEqual(s, lstm ? 2 * h : h)
            var state = [Float](repeating: 0, count: l * b * s)
            for row in 0..<(l * b) {
                for j in 0..<h {
                    state[row * s + j] = m.h0[row * h + j]
                    if lstm { state[row * s + h + j] = try XCTUnwrap(m.c0)[row * h + j] }
                }
            }
            var next = state
            let ws = SequenceModelWorkspace()
            var rng = SeededGenerator(seed: 0)
            var largest: Float = 0, location = ""
            func compare(_ ours: Float, _ theirs: Float, _ what: @autoclosure () -> String) {
                let d = abs(ours - theirs) / (1 + abs(theirs))
                // A NaN is kept once seen: it fails the check below.
                if !largest.isNaN && !(d <= largest) { largest = d; location = what() }
            }
            for (k, chunk) in m.chunks.enumerated() {
                let t = chunk.steps
                XCTAssertEqual(chunk.tokens.count, b * t)
                XCTAssertEqual(chunk.logits.count, b * t * v)
                var logits = [Float](repeating: 0, count: b * t * v)
                model.model.forward(tokens: chunk.tokens, batch: b, steps: t, initialState: state, output: &logits,
                                    finalState: &next, rng: &rng, workspace: ws, arena: model.arena)
                for i in 0..<(b * t * v) { compare(logits[i], chunk.logits[i], "logits[\(i)] of chunk \(k + 1)") }
                for row in 0..<(l * b) {
                    for j in 0..<h {
                        compare(next[row * s + j], chunk.hn[row * h + j], "hn[\(row * h + j)] of chunk \(k + 1)")
                        if lstm { compare(next[row * s + h + j], try XCTUnwrap(chunk.cn)[row * h + j], "cn[\(row * h + j)] of chunk \(k + 1)") }
                    }
                }
                swap(&state, &next)
            }
            XCTAssertLessThanOrEqual(largest, 1e-5, "\(m.cell): largest relative difference from ONNX Runtime \(largest) at \(location)")
        }
    }

    /// The file read back field by field: versions, opset, names and shapes of the inputs and
    /// outputs, the operators in order, their attributes, and the weights with the gates reordered
    /// as ONNX wants them — compared with the checkpoint's own tensors.
    func testGraphStructureReadBack() throws {
        for m in try expected().models {
            let path = try fixture(m.checkpoint)
            let model = try CharLanguageModel(contentsOf: path)
            let checkpoint = try SafetensorsFile(contentsOf: path)
            let c = model.configuration
            let (l, h, v, e) = (c.layers, c.hiddenSize, c.vocabulary.count, c.embeddingSize)
            let lstm = c.cell == .lstm
            let root = try ProtobufMessage(Array(try model.onnxModel().serialized()))
            XCTAssertEqual(root.varints(1), [8], "ir_version")
            XCTAssertEqual(root.strings(2), ["Recurrent"])
            let opset = try root.message(8)
            XCTAssertEqual(opset.strings(1), [""])
            XCTAssertEqual(opset.varints(2), [17])
            let metadata = try root.messages(14)
            XCTAssertEqual(metadata.map { $0.strings(1) }, [["config"]])
            XCTAssertEqual(metadata.first?.strings(2), [c.json])

            let graph = try root.message(7)
            // Inputs and outputs: names, element types, dims (symbolic batch and time).
            func signature(_ info: ProtobufMessage) throws -> String {
                let tensor = try info.message(2).message(1)
                let dims = try tensor.message(2).messages(1).map { d in
                    d.varints(1).first.map { "\($0)" } ?? d.strings(2).first ?? "?"
                }
                let type = tensor.varints(1) == [7] ? "int64" : tensor.varints(1) == [1] ? "float" : "\(tensor.varints(1))"
                return "\(info.strings(1).joined()) \(type) [\(dims.joined(separator: ", "))]"
            }
            let state = "float [\(l), batch, \(h)]"
            XCTAssertEqual(try graph.messages(11).map(signature),
                           ["tokens int64 [batch, time]", "h0 \(state)"] + (lstm ? ["c0 \(state)"] : []), m.cell)
            XCTAssertEqual(try graph.messages(12).map(signature),
                           ["logits float [batch, time, \(v)]", "hn \(state)"] + (lstm ? ["cn \(state)"] : []), m.cell)

            // The operators in order.
            let nodes = try graph.messages(1)
            let op = ["lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"][m.cell]!
            let slices = l == 1 ? [] : (lstm ? ["Slice", "Slice"] : ["Slice"])
            var ops = ["Gather", "Transpose"]
            for _ in 0..<l { ops += slices + [op, "Squeeze"] }
            ops += ["Transpose", "MatMul", "Add"] + (l == 1 ? [] : (lstm ? ["Concat", "Concat"] : ["Concat"]))
            XCTAssertEqual(nodes.map { $0.strings(4).joined() }, ops, m.cell)

            // The recurrent nodes' attributes.
            for node in nodes where node.strings(4) == [op] {
                var attributes: [String: String] = [:]
                for a in try node.messages(5) {
                    let value = a.varints(3).first.map { "\($0)" } ?? a.strings(9).joined(separator: ",")
                    attributes[a.strings(1).joined()] = value
                }
                var wanted = ["hidden_size": "\(h)"]
                switch c.cell {
                case .gru: wanted["linear_before_reset"] = "1"
                case .rnnTanh: wanted["activations"] = "Tanh"
                case .rnnRelu: wanted["activations"] = "Relu"
                case .lstm: break
                default: XCTFail("no ONNX operator for \(c.cell)")
                }
                XCTAssertEqual(attributes, wanted, m.cell)
                XCTAssertEqual(node.strings(1).count, lstm ? 7 : 6, "X, W, R, B, sequence_lens, initial_h (, initial_c)")
                XCTAssertEqual(node.strings(1)[4], "", "no sequence_lens")
            }

            // Initializers: floats back from raw_data, compared with the checkpoint's tensors.
            var initializers: [String: (dims: [Int], floats: [Float])] = [:]
            for t in try graph.messages(5) {
                let raw = t.data(9).first ?? []
                let floats = t.varints(2) == [1]
                    ? stride(from: 0, to: raw.count, by: 4).map { i in
                        Float(bitPattern: raw[i..<(i + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) })
                    } : []
                initializers[t.strings(8).joined()] = (t.varints(1).map { Int($0) }, floats)
            }
            XCTAssertEqual(initializers["embedding.weight"]?.dims, [v, e])
            XCTAssertEqual(initializers["embedding.weight"]?.floats, try checkpoint.floats("embedding.weight"))
            // ONNX gate block j comes from PyTorch block pytorch[j]: LSTM i,o,f,c ← i,f,g,o; GRU z,r,h ← r,z,n.
            let pytorch = ["lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_tanh": [0], "rnn_relu": [0]][m.cell]!
            let g = pytorch.count
            func blocks(_ x: [Float], _ columns: Int) -> [Float] {
                pytorch.flatMap { x[($0 * h * columns)..<(($0 + 1) * h * columns)] }
            }
            for k in 0..<l {
                let d = k == 0 ? e : h
                XCTAssertEqual(initializers["rnn.W_l\(k)"]?.dims, [1, g * h, d])
                XCTAssertEqual(initializers["rnn.W_l\(k)"]?.floats, blocks(try checkpoint.floats("rnn.weight_ih_l\(k)"), d), "\(m.cell) W_l\(k)")
                XCTAssertEqual(initializers["rnn.R_l\(k)"]?.floats, blocks(try checkpoint.floats("rnn.weight_hh_l\(k)"), h), "\(m.cell) R_l\(k)")
                XCTAssertEqual(initializers["rnn.B_l\(k)"]?.dims, [1, 2 * g * h])
                XCTAssertEqual(initializers["rnn.B_l\(k)"]?.floats,
                               blocks(try checkpoint.floats("rnn.bias_ih_l\(k)"), 1) + blocks(try checkpoint.floats("rnn.bias_hh_l\(k)"), 1))
            }
            let head = try checkpoint.floats("head.weight")
            XCTAssertEqual(initializers["head.weight_t"]?.dims, [h, v])
            XCTAssertEqual(initializers["head.weight_t"]?.floats, (0..<(h * v)).map { head[($0 % v) * h + $0 / v] })
            XCTAssertEqual(initializers["head.bias"]?.floats, try checkpoint.floats("head.bias"))
        }
    }

    func testProtobufWriterEncodings() throws {
        var w = ProtobufWriter()
        w.varint(1, 150)                 // the protobuf documentation's example: 08 96 01
        w.int64(2, -1)                   // ten bytes of two's complement
        w.float(3, 1.5)                  // fixed32 0x3FC00000, little-endian
        w.string(4, "hé")
        w.message(5) { $0.varint(1, 0) }
        XCTAssertEqual(w.encoded, [0x08, 0x96, 0x01,
                                   0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                                   0x1D, 0x00, 0x00, 0xC0, 0x3F,
                                   0x22, 0x03, 0x68, 0xC3, 0xA9,
                                   0x2A, 0x02, 0x08, 0x00])
        let read = try ProtobufMessage(w.encoded)
        XCTAssertEqual(read.varints(1), [150])
        XCTAssertEqual(read.varints(2), [UInt64.max])
        XCTAssertEqual(read.strings(4), ["hé"])
    }

    /// Task models and files without a config are refused; so are a missing output folder and an
    /// output that is the checkpoint. Nothing is written.
    func testRefusals() throws {
        let dir = TemporaryFolder()
        let config = CharModelConfiguration(cell: .gru, vocabulary: Vocabulary(text: "abc"), embeddingSize: 2, hiddenSize: 3, layers: 1)
        let model = try CharLanguageModel(configuration: config, seed: 1)
        func write(_ name: String, metadata: [String: String]) -> String {
            let path = dir.file(name)
            _ = FileManager.default.createFile(atPath: path, contents: SafetensorsFile.encode(model.contractEntries(), metadata: metadata))
            return path
        }
        let good = write("good.safetensors", metadata: ["config": config.json])
        let task = write("task.safetensors", metadata: ["task": "{\"task\": \"classify\"}"])
        let bare = write("bare.safetensors", metadata: [:])
        let cases: [(String, String, String)] = [
            (task, dir.file("a.onnx"), "a task-model checkpoint (\"task\" metadata, from rnn fit): only character-model checkpoints export"),
            (bare, dir.file("b.onnx"), "no \"config\" metadata: only character-model checkpoints export"),
            (dir.file("missing.safetensors"), dir.file("c.onnx"), "missing.safetensors"),
            (good, dir.file("no-such-folder/d.onnx"), "no-such-folder' does not exist; create it first"),
            (good, good, "a path other than the input"),
            (good, dir.path, "is a folder"),
        ]
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let goodBytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for (checkpoint, output, needle) in cases {
            XCTAssertThrowsError(try exportONNX(checkpoint: checkpoint, to: output)) {
                XCTAssertTrue("\($0)".contains(needle), "\($0)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), before, "files left behind")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: good)), goodBytes)
        XCTAssertNoThrow(try exportONNX(checkpoint: good, to: dir.file("ok.onnx")))
    }
}
