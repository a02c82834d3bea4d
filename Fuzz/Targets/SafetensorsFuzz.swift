// libFuzzer target: bytes → SafetensorsFile(bytes:) and, when that parses, every loading path
// that reads a checkpoint: the character model (then a short sample, a score at every precision
// and the ONNX export), a PyTorch state dict (its recurrent modules and the import), the task model
// (then a prediction on one example), and resuming a character-model training run.
// Compiled into the module `Recurrent` together with the library's sources by Fuzz/run.sh, so
// it reaches internal API. Any Swift trap, signal or sanitizer report is a bug: a malformed file
// must only ever throw a RecurrentError.
import Foundation

/// The text that the seed corpus's training checkpoint (corpus/safetensors/train-last.safetensors)
/// was trained on: Fuzz/run.sh writes it with `rnn train`; keep the two in step.
let fuzzResumeText: String = {
    let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
    var s = "", i = 0
    while s.count < 400 { s += words[(i * 7 + i / 3) % words.count] + (i % 6 == 5 ? ".\n" : " "); i += 1 }
    return String(s.prefix(400))
}()

/// A private output folder for the resumed runs (the fuzzer is one process).
let fuzzOutput: String = {
    let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

func expectRecurrentError(_ body: () throws -> Void) {
    do { try body() } catch is RecurrentError {} catch {
        fatalError("a malformed file gave a non-RecurrentError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let data = Data(bytes: bytes, count: size)
    guard let file = try? SafetensorsFile(bytes: data, path: "fuzz.safetensors") else { return 0 }
    for t in file.tensors {
        expectRecurrentError {
            if t.dtype == .u64 || t.dtype == .i64 { _ = try file.integers(t.name) } else { _ = try file.floats(t.name) }
        }
    }
    expectRecurrentError {
        let model = try CharLanguageModel(checkpoint: file)
        let symbols = model.configuration.vocabulary.symbols
        var text = ""
        try model.sample(length: 4, temperature: 0.9, topK: 2, prime: symbols.prefix(2).joined(), seed: 1) { text.append($0) }
        let ids = try model.configuration.vocabulary.encode(symbols.prefix(3).joined() + text)
        _ = model.negativeLogLikelihood(ids, chunk: 4)
        for precision in [InferencePrecision.bf16, .int8, .w8a8] {
            _ = try model.negativeLogLikelihood(ids, chunk: 4, precision: precision)
        }
        _ = model.onnxModel().serialized()
    }
    // The file as a PyTorch state dict: every recurrent module it names, run for two steps, and
    // the character-model import with a made-up vocabulary of the right size.
    expectRecurrentError {
        let dict = try PyTorchStateDict(file)
        for module in dict.recurrentModules {
            let (stack, arena) = try dict.stack(module)
            var rng = SeededGenerator(seed: 1)
            _ = try stack.forward([Float](repeating: 0.25, count: 2 * stack.inputSize), batch: 1, steps: 2, rng: &rng,
                                  workspace: RecurrentStackWorkspace(), arena: arena)
        }
        if let v = dict.matrices.first?.rows, v <= 4096 {
            let vocabulary = try Vocabulary(symbols: (0..<v).map { String(UnicodeScalar(0x100 + $0)!) })
            _ = try CharLanguageModel(importing: dict, vocabulary: vocabulary).checkpointData()
        }
    }
    expectRecurrentError {
        let (spec, network) = try TaskCheckpoint.load(file)
        let input: Example.Input
        if let f = spec.features {
            input = spec.kind == .caption ? .vector([Float](repeating: 0.5, count: f))
                                          : .sequence([[Float](repeating: 0.5, count: f), [Float](repeating: -1, count: f)])
        } else {
            input = .text(spec.tokenization == .word ? "a b" : "ab")
        }
        let encoded = try spec.encode(Example(id: "x", input: input, target: nil, line: 1), path: "fuzz.jsonl", withTarget: false)
        _ = try network.predict([encoded], beam: 1)
        _ = try network.predict([encoded], beam: 2)
    }
    if file.metadata["training"] != nil {
        expectRecurrentError {
            let trainer = try CharTrainer(resuming: file, folder: fuzzOutput, text: nil, steps: nil, epochs: nil,
                                          readText: { _ in fuzzResumeText })
            var polls = 0
            _ = try trainer.run(shouldStop: { polls += 1; return polls > 2 })
        }
    }
    return 0
}
