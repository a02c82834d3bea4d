import Foundation
import XCTest

/// The promise of "Interop and robustness": any checkpoint or data file, however malformed, is
/// refused with one clear line on standard error and a non-zero status below 128 (no trap, no
/// signal), and no command leaves a partial output file behind. Every command that reads a file
/// meets every kind of bad file here.
final class BadInputCatalogueTests: ScratchFolderTestCase {

    @discardableResult
    func write(_ name: String, _ data: Data) -> String {
        let p = path(name)
        try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: p, contents: data)
        return p
    }

    func text(_ n: Int) -> String {
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        var s = "", i = 0
        while s.count < n { s += words[(i * 7 + i / 3) % words.count] + (i % 6 == 5 ? ".\n" : " "); i += 1 }
        return String(s.prefix(n))
    }

    // MARK: Safetensors surgery

    /// A safetensors file as its header object and the bytes after it.
    struct Parts {
        var header: [String: Any]
        var payload: Data

        init(_ data: Data) {
            let n = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            header = (try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n)))) as? [String: Any] ?? [:]
            payload = data.subdata(in: (8 + n)..<data.count)
        }

        var data: Data {
            let json = try! JSONSerialization.data(withJSONObject: header)
            var n = UInt64(json.count).littleEndian
            var out = Data(bytes: &n, count: 8)
            out.append(json)
            out.append(payload)
            return out
        }

        func range(_ name: String) -> Range<Int> {
            let offsets = (header[name] as! [String: Any])["data_offsets"] as! [Int]
            return offsets[0]..<offsets[1]
        }

        mutating func edit(_ name: String, _ key: String, _ value: Any) {
            var entry = header[name] as! [String: Any]
            entry[key] = value
            header[name] = entry
        }

        mutating func editMetadata(_ key: String, _ body: (inout [String: Any]) -> Void) {
            var metadata = header["__metadata__"] as! [String: String]
            var object = try! JSONSerialization.jsonObject(with: Data(metadata[key]!.utf8)) as! [String: Any]
            body(&object)
            metadata[key] = String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            header["__metadata__"] = metadata
        }
    }

    func header(length: UInt64, then bytes: Data = Data()) -> Data {
        var n = length.littleEndian
        var d = Data(bytes: &n, count: 8)
        d.append(bytes)
        return d
    }

    /// Files broken in every way that is not about what they hold: the format itself.
    func brokenFormatFiles(from good: Data, tensor: String, prefix: String) -> [(String, String)] {
        var files: [(String, String)] = []
        func add(_ name: String, _ data: Data) { files.append((name, write("\(prefix)/\(name).safetensors", data))) }
        files.append(("missing", path("\(prefix)/missing.safetensors")))
        add("empty", Data())
        add("binary", Data((0..<256).map { UInt8(($0 * 37 + 11) % 256) }))
        add("truncated", good.prefix(good.count / 2))
        add("header-beyond-file", header(length: 4096, then: Data("{}".utf8)))
        add("header-huge", header(length: 1 << 62, then: Data("{}".utf8)))
        add("header-not-utf8", header(length: 4, then: Data([0x7B, 0xFF, 0xFE, 0x7D])))
        // Bigger than any sane header: a sparse 120 MB file that declares a 110 MB header.
        let oversized = write("\(prefix)/oversized.safetensors", header(length: 110_000_000))
        let handle = FileHandle(forWritingAtPath: oversized)!
        try! handle.truncate(atOffset: 120_000_000)
        try! handle.close()
        files.append(("oversized", oversized))
        var p = Parts(good)
        let r = p.range(tensor)
        p.edit(tensor, "data_offsets", [r.lowerBound, r.upperBound + p.payload.count])
        add("offsets-out-of-range", p.data)
        p = Parts(good)
        p.edit(tensor, "data_offsets", [p.payload.count + 8, p.payload.count + 8 + r.count])
        add("offsets-beyond-end", p.data)
        p = Parts(good)
        let other = p.header.keys.first { $0 != tensor && $0 != "__metadata__" && p.range($0).count >= r.count }!
        let o = p.range(other)
        p.edit(tensor, "data_offsets", [o.lowerBound, o.lowerBound + r.count])
        add("offsets-overlap", p.data)
        p = Parts(good)
        p.edit(tensor, "dtype", "F8_E4M3")
        add("unknown-dtype", p.data)
        p = Parts(good)
        p.edit(tensor, "dtype", "I32")
        add("integer-dtype", p.data)
        p = Parts(good)
        p.edit(tensor, "shape", [r.count / 4 + 1])
        add("shape-vs-bytes", p.data)
        p = Parts(good)
        p.payload.replaceSubrange(r.lowerBound..<(r.lowerBound + 4), with: [0x00, 0x00, 0xC0, 0x7F])   // NaN
        add("nan-weight", p.data)
        p = Parts(good)
        p.payload.replaceSubrange(r.lowerBound..<(r.lowerBound + 4), with: [0x00, 0x00, 0x80, 0xFF])   // −∞
        add("inf-weight", p.data)
        p = Parts(good)
        p.header.removeValue(forKey: "__metadata__")
        add("no-metadata", p.data)
        return files
    }

    // MARK: Running and checking

    /// Every file under the temporary folder, with its bytes.
    func snapshot() -> [String: Data] {
        var files: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)!
        while let relative = e.nextObject() as? String {
            let p = path(relative)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory)
            if relative.hasSuffix("oversized.safetensors") { files[relative] = Data(); continue }
            files[relative] = isDirectory.boolValue ? Data("<dir>".utf8) : FileManager.default.contents(atPath: p) ?? Data()
        }
        return files
    }

    /// Runs every case, checks the promise, and returns the failures' stderr by case.
    @discardableResult
    func expectRefusals(_ cases: [(String, [String])], file: StaticString = #filePath, line: UInt = #line) throws -> [String: String] {
        let before = snapshot()
        var messages: [String: String] = [:]
        // Two at a time: the cases are independent and mostly process start-up.
        let results = Results(count: cases.count)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in stride(from: worker, to: cases.count, by: 2) { results.set(i, try? runRNN(cases[i].1)) }
        }
        for (i, (name, arguments)) in cases.enumerated() {
            guard let r = results.get(i) else { XCTFail("\(name): could not start rnn", file: file, line: line); continue }
            let context = "\(name): rnn \(arguments.joined(separator: " "))"
            XCTAssertFalse(r.signaled, "\(context) died of a signal", file: file, line: line)
            XCTAssertNotEqual(r.status, 0, "\(context) succeeded: \(r.stdout)", file: file, line: line)
            XCTAssertLessThan(r.status, 128, "\(context)", file: file, line: line)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            XCTAssertEqual(lines.count, 1, "\(context): stderr is \(r.stderr.debugDescription)", file: file, line: line)
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(context): \(r.stderr)", file: file, line: line)
            XCTAssertFalse(r.stderr.contains("Fatal error"), "\(context): \(r.stderr)", file: file, line: line)
            XCTAssertEqual(r.stdout, "", "\(context) printed to stdout", file: file, line: line)
            messages[name] = r.stderr
        }
        // Nothing new, nothing changed: no output folder, no temporary file, no rewritten checkpoint.
        let after = snapshot()
        XCTAssertEqual(Set(after.keys).subtracting(before.keys).sorted(), [], "files left behind", file: file, line: line)
        for (name, data) in before where after[name] != data {
            XCTFail("\(name) changed", file: file, line: line)
        }
        return messages
    }

    /// Results filled in from two threads.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [CLIResult?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: CLIResult?) { lock.withLock { values[i] = r } }
        func get(_ i: Int) -> CLIResult? { lock.withLock { values[i] } }
    }

    // MARK: The catalogue

    func testCharacterModelCommandsRefuseEveryBadFile() throws {
        let corpusText = text(600)
        let corpus = write("corpus.txt", Data(corpusText.utf8))
        let run = path("good")
        let trained = try runRNN(["train", "--text", corpus, "--hidden", "4", "--layers", "1", "--batch", "2", "--seq", "5",
                                  "--steps", "2", "--eval-every", "1", "--out", run])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let last = FileManager.default.contents(atPath: (run as NSString).appendingPathComponent("last.safetensors"))!

        // Text files.
        var texts: [(String, String)] = [("missing", path("texts/missing.txt"))]
        texts.append(("empty", write("texts/empty.txt", Data())))
        texts.append(("binary", write("texts/binary.txt", Data([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x14]))))
        texts.append(("latin1", write("texts/latin1.txt", Data("caf".utf8) + Data([0xE9, 0x20]) + Data(corpusText.utf8))))
        texts.append(("truncated-utf8", write("texts/truncated.txt", Data(corpusText.utf8) + Data([0xE2, 0x82]))))
        texts.append(("directory", path("texts")))
        texts.append(("one-character", write("texts/short.txt", Data("t".utf8))))
        var cases: [(String, [String])] = []
        let best = (run as NSString).appendingPathComponent("best.safetensors")
        for (name, file) in texts {
            cases.append(("train --text \(name)", ["train", "--text", file, "--hidden", "4", "--layers", "1", "--batch", "2",
                                                   "--seq", "5", "--steps", "2", "--out", path("out-\(name)")]))
            cases.append(("score --text \(name)", ["score", "--checkpoint", best, "--text", file]))
            cases.append(("train --resume --text \(name)", ["train", "--resume", run, "--text", file, "--steps", "3"]))
        }
        cases.append(("score --text other-characters", ["score", "--checkpoint", best, "--text", write("texts/other.txt", Data("xyz!".utf8))]))
        cases.append(("train --resume --text another-text", ["train", "--resume", run, "--text", write("texts/another.txt", Data(text(599).utf8)),
                                                            "--steps", "3"]))

        // Checkpoints: the format, then the contents.
        var checkpoints = brokenFormatFiles(from: last, tensor: "head.weight", prefix: "char")
        func variant(_ name: String, _ body: (inout Parts) -> Void) {
            var p = Parts(last)
            body(&p)
            checkpoints.append((name, write("char/\(name).safetensors", p.data)))
        }
        variant("config-hidden-disagrees") { $0.editMetadata("config") { $0["hidden_size"] = 5 } }
        variant("config-vocab-disagrees") { $0.editMetadata("config") { $0["vocab"] = ["a", "b"] } }
        variant("config-huge-model") { $0.editMetadata("config") { $0["hidden_size"] = 1 << 20; $0["embedding_size"] = 1 << 20 } }
        variant("config-many-layers") { $0.editMetadata("config") { $0["num_layers"] = 1 << 20 } }
        variant("config-unknown-cell") { $0.editMetadata("config") { $0["cell"] = "transformer" } }
        variant("config-not-json") { p in
            var m = p.header["__metadata__"] as! [String: String]
            m["config"] = "{cell: lstm"
            p.header["__metadata__"] = m
        }
        variant("config-repeated-symbol") { $0.editMetadata("config") { o in
            var v = o["vocab"] as! [String]
            v[1] = v[0]
            o["vocab"] = v
        } }
        variant("tensor-missing") { $0.header.removeValue(forKey: "rnn.weight_hh_l0") }
        variant("shape-disagrees-with-config") { p in
            // Same bytes, another shape: (V, H) read as (H, V).
            let shape = (p.header["head.weight"] as! [String: Any])["shape"] as! [Int]
            p.edit("head.weight", "shape", [shape[1], shape[0]])
        }
        variant("training-negative-step") { $0.editMetadata("training") { $0["step"] = -7 } }
        variant("training-missing-field") { $0.editMetadata("training") { $0.removeValue(forKey: "batch") } }
        variant("training-bad-batch") { $0.editMetadata("training") { $0["batch"] = 0 } }
        variant("training-nan-hidden") { p in
            let r = p.range("train.hidden")
            p.payload.replaceSubrange(r.lowerBound..<(r.lowerBound + 4), with: [0x00, 0x00, 0xC0, 0x7F])
        }
        variant("training-rng-floats") { $0.edit("train.rng", "dtype", "F64") }
        for (name, file) in checkpoints {
            // Sampling and scoring ignore the training state.
            if !name.hasPrefix("training-") {
                cases.append(("score --checkpoint \(name)", ["score", "--checkpoint", file, "--text", corpus]))
                cases.append(("sample --checkpoint \(name)", ["sample", "--checkpoint", file, "--length", "5"]))
                cases.append(("export --checkpoint \(name)", ["export", "--checkpoint", file, "--onnx", path("exported-\(name).onnx")]))
            }
            // Resuming reads DIR/last.safetensors: a folder per broken file.
            let folder = path("resume-\(name)")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if name != "missing" {
                try FileManager.default.copyItem(atPath: file, toPath: (folder as NSString).appendingPathComponent("last.safetensors"))
            }
            cases.append(("train --resume \(name)", ["train", "--resume", folder, "--text", corpus, "--steps", "3"]))
        }
        // Importing a state dict: every broken format, and tensors that do not make a model (a
        // file without metadata is a valid state dict, and the training-state variants import fine).
        for (name, file) in checkpoints where !name.hasPrefix("training-") && !name.hasPrefix("config-") && name != "no-metadata" {
            cases.append(("import \(name)", ["import", file, "--vocab-from", corpus, "--out", path("imported-\(name).safetensors")]))
        }
        cases.append(("export --onnx missing-folder", ["export", "--checkpoint", best, "--onnx", path("no-such-folder/model.onnx")]))
        for (name, file) in texts {
            cases.append(("import --vocab-from \(name)", ["import", best, "--vocab-from", file, "--out", path("imported-text-\(name).safetensors")]))
        }
        let messages = try expectRefusals(cases)
        // A few messages, word for word where it matters.
        XCTAssertTrue(messages["sample --checkpoint header-beyond-file"]?.contains("runs past the end") ?? false)
        XCTAssertTrue(messages["sample --checkpoint oversized"]?.contains("larger than 100000000") ?? false)
        XCTAssertTrue(messages["sample --checkpoint offsets-overlap"]?.contains("overlap") ?? false)
        XCTAssertTrue(messages["sample --checkpoint unknown-dtype"]?.contains("unknown dtype 'F8_E4M3'") ?? false)
        XCTAssertTrue(messages["sample --checkpoint nan-weight"]?.contains("weights must be finite") ?? false)
        XCTAssertTrue(messages["sample --checkpoint shape-disagrees-with-config"]?.contains("but the config") ?? false)
        XCTAssertTrue(messages["train --resume training-negative-step"]?.contains("step -7") ?? false)
        XCTAssertTrue(messages["export --checkpoint no-metadata"]?.contains("only character-model checkpoints export") ?? false)
        XCTAssertTrue(messages["export --checkpoint nan-weight"]?.contains("weights must be finite") ?? false)
        XCTAssertTrue(messages["export --onnx missing-folder"]?.contains("does not exist") ?? false)
    }

    func testTaskCommandsRefuseEveryBadFile() throws {
        let good = Data(["{\"input\": \"ab\", \"target\": \"x\"}", "{\"input\": \"ba\", \"target\": \"y\"}",
                         "{\"input\": \"aab\", \"target\": \"x\"}", "{\"input\": \"bb\", \"target\": \"y\"}"].joined(separator: "\n").utf8)
        let data = write("data/good.jsonl", good)
        let fit = try runRNN(["fit", "--task", "classify", "--data", data, "--valid", data, "--hidden", "3", "--embedding", "2",
                              "--epochs", "1", "--out", path("fit")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let checkpoint = path("fit/best.safetensors")
        let s2sData = write("data/s2s.jsonl", Data("{\"input\": \"1+2\", \"target\": \"3\"}\n{\"input\": \"2+2\", \"target\": \"4\"}\n".utf8))
        let s2s = try runRNN(["fit", "--task", "seq2seq", "--data", s2sData, "--valid", s2sData, "--hidden", "2", "--embedding", "2",
                              "--epochs", "1", "--out", path("fit-s2s")])
        XCTAssertEqual(s2s.status, 0, s2s.stderr)

        // JSONL files.
        var jsonl: [(String, String)] = [("missing", path("data/missing.jsonl"))]
        jsonl.append(("empty", write("data/empty.jsonl", Data())))
        jsonl.append(("blank-lines", write("data/blank.jsonl", Data("\n  \n\n".utf8))))
        jsonl.append(("binary", write("data/binary.jsonl", Data([0x7B, 0x00, 0x7D, 0x0A]))))
        jsonl.append(("latin1", write("data/latin1.jsonl", Data("{\"input\": \"caf".utf8) + Data([0xE9]) + Data("\", \"target\": \"x\"}".utf8))))
        jsonl.append(("truncated", write("data/truncated.jsonl", good.prefix(good.count - 7))))
        jsonl.append(("broken-line", write("data/broken.jsonl", good + Data("\n{\"input\": \"ab\", \"target\": \n".utf8))))
        jsonl.append(("not-an-object", write("data/array.jsonl", Data("[\"ab\", \"x\"]\n".utf8))))
        jsonl.append(("input-number", write("data/input-number.jsonl", Data("{\"input\": 3, \"target\": \"x\"}\n".utf8))))
        jsonl.append(("input-mixed-array", write("data/input-mixed.jsonl", Data("{\"input\": [1, \"a\"], \"target\": \"x\"}\n".utf8))))
        jsonl.append(("target-object", write("data/target-object.jsonl", Data("{\"input\": \"ab\", \"target\": {\"a\": 1}}\n".utf8))))
        jsonl.append(("target-bool", write("data/target-bool.jsonl", Data("{\"input\": \"ab\", \"target\": true}\n".utf8))))
        jsonl.append(("id-array", write("data/id-array.jsonl", Data("{\"input\": \"ab\", \"target\": \"x\", \"id\": [1]}\n".utf8))))
        jsonl.append(("no-input", write("data/no-input.jsonl", Data("{\"target\": \"x\"}\n".utf8))))
        jsonl.append(("numbers-for-text-model", write("data/numbers.jsonl", Data("{\"input\": [[1, 2]], \"target\": \"x\"}\n".utf8))))
        jsonl.append(("unseen-label", write("data/unseen.jsonl", Data("{\"input\": \"ab\", \"target\": \"zebra\"}\n".utf8))))
        var cases: [(String, [String])] = []
        for (name, file) in jsonl {
            cases.append(("fit --data \(name)", ["fit", "--task", "classify", "--data", file, "--hidden", "2", "--epochs", "1",
                                                 "--out", path("out-\(name)")]))
            cases.append(("fit --valid \(name)", ["fit", "--task", "classify", "--data", data, "--valid", file, "--hidden", "2",
                                                  "--epochs", "1", "--out", path("out-valid-\(name)")]))
            if name != "unseen-label" { cases.append(("predict --data \(name)", ["predict", "--checkpoint", checkpoint, "--data", file])) }
            cases.append(("evaluate --data \(name)", ["evaluate", "--checkpoint", checkpoint, "--data", file]))
        }

        // Task checkpoints: the format, then the contents.
        let bytes = FileManager.default.contents(atPath: checkpoint)!
        var checkpoints = brokenFormatFiles(from: bytes, tensor: "head.weight", prefix: "task")
        func variant(_ name: String, from source: Data = bytes, _ body: (inout Parts) -> Void) {
            var p = Parts(source)
            body(&p)
            checkpoints.append((name, write("task/\(name).safetensors", p.data)))
        }
        variant("task-hidden-disagrees") { $0.editMetadata("task") { $0["hidden_size"] = 5 } }
        variant("task-huge-model") { $0.editMetadata("task") { $0["hidden_size"] = 1 << 20; $0["embedding_size"] = 1 << 20 } }
        variant("task-many-layers") { $0.editMetadata("task") { $0["num_layers"] = 1 << 20 } }
        variant("task-unknown-kind") { $0.editMetadata("task") { $0["task"] = "translate" } }
        variant("task-no-labels") { $0.editMetadata("task") { $0.removeValue(forKey: "labels") } }
        variant("task-vocab-without-unk") { $0.editMetadata("task") { $0["input_vocab"] = ["a", "b"] } }
        variant("shape-disagrees-with-task") { p in
            let shape = (p.header["head.weight"] as! [String: Any])["shape"] as! [Int]
            p.edit("head.weight", "shape", [shape[1], shape[0]])
        }
        let s2sBytes = FileManager.default.contents(atPath: path("fit-s2s/best.safetensors"))!
        variant("seq2seq-vocab-without-bos", from: s2sBytes) { $0.editMetadata("task") { o in
            o["target_vocab"] = (o["target_vocab"] as! [String]).filter { $0 != "<bos>" }
        } }
        variant("seq2seq-longest-target-huge", from: s2sBytes) { $0.editMetadata("task") { $0["longest_target"] = 1e300 } }
        variant("seq2seq-longest-target-negative", from: s2sBytes) { $0.editMetadata("task") { $0["longest_target"] = -20 } }
        variant("char-model-checkpoint") { p in
            p.header["__metadata__"] = ["config": "{\"cell\": \"lstm\", \"vocab\": [\"a\"], \"embedding_size\": 1, \"hidden_size\": 1, \"num_layers\": 1}"]
        }
        for (name, file) in checkpoints {
            cases.append(("predict --checkpoint \(name)", ["predict", "--checkpoint", file, "--data", data]))
            cases.append(("evaluate --checkpoint \(name)", ["evaluate", "--checkpoint", file, "--data", data]))
        }
        cases.append(("export --checkpoint task-model", ["export", "--checkpoint", checkpoint, "--onnx", path("task.onnx")]))
        let messages = try expectRefusals(cases)
        XCTAssertTrue(messages["fit --data broken-line"]?.contains("broken.jsonl:5: not valid JSON") ?? false)
        XCTAssertTrue(messages["evaluate --checkpoint seq2seq-vocab-without-bos"]?.contains("<bos>") ?? false)
        XCTAssertTrue(messages["predict --checkpoint char-model-checkpoint"]?.contains("rnn sample or rnn score") ?? false)
        XCTAssertTrue(messages["export --checkpoint task-model"]?.contains("only character-model checkpoints export") ?? false)
    }
}
