import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a character model, one character at a time.",
        discussion: """
            Streams characters to standard output as they are generated. The same seed gives the
            same text.

            Examples:
              rnn sample --checkpoint runs/shakespeare/best.safetensors
              rnn sample --checkpoint model.safetensors --length 500 --temperature 0.8 --prime "ROMEO:" --seed 7
              rnn sample --checkpoint model.safetensors --top-k 5
              rnn sample --checkpoint model.safetensors --precision int8

            --precision stores the weight matrices narrow while sampling: bf16 (bfloat16) or int8
            (a float scale per row) with float32 arithmetic, or w8a8 (int8 weights and activations,
            integer dot products, AVX-512 VNNI). Faster; the text differs from fp32's, and
            `rnn score --precision` measures what that costs.
            """)

    @Option(help: "A checkpoint (.safetensors) written by rnn train, or by PyTorch under the README's contract.")
    var checkpoint: String

    @Option(parsing: .unconditional, help: "Characters to generate.")
    var length: Int = 1000

    @Option(parsing: .unconditional, help: "Softmax temperature (> 0): lower is more conservative.")
    var temperature: Float = 1

    @Option(parsing: .unconditional, help: "Sample among the K most likely characters only.")
    var topK: Int?

    @Option(help: "Text to read first; it is printed, then continued.")
    var prime: String = ""

    @Option(help: "Seed for sampling.", transform: parseSeed)
    var seed: UInt64 = 1

    @Option(help: "How the weights are stored while sampling: fp32, bf16, int8 or w8a8.", transform: parsePrecision)
    var precision: InferencePrecision = .fp32

    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws {
        guard length >= 0 && length <= 100_000_000 else { throw ValidationError("invalid length '\(length)': expected 0...100000000") }
        guard temperature > 0 && temperature.isFinite else {
            throw ValidationError("invalid temperature '\(temperature)': expected a positive number")
        }
        if let topK, topK < 1 { throw ValidationError("invalid top-k '\(topK)': expected at least 1") }
    }

    func run() throws {
        kernelThreads.apply()
        let model = try CharLanguageModel(contentsOf: checkpoint)
        var buffer = ""
        try model.sample(length: 0, prime: prime, seed: seed) { _ in }   // checks the prime before printing anything
        FileHandle.standardOutput.write(Data(prime.utf8))
        try model.sample(length: length, temperature: temperature, topK: topK, prime: prime, seed: seed,
                         precision: precision) { c in
            buffer.append(c)
            if c == "\n" || buffer.utf8.count >= 64 {
                FileHandle.standardOutput.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        FileHandle.standardOutput.write(Data((buffer + "\n").utf8))
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Mean negative log-likelihood of a text under a character model.",
        discussion: """
            The text is read as one stream from a zero state; each character is predicted from all
            the characters before it (N − 1 predictions).

            Examples:
              rnn score --checkpoint runs/shakespeare/best.safetensors --text valid.txt
              rnn score --checkpoint model.safetensors --text valid.txt --json
              rnn score --checkpoint model.safetensors --text valid.txt --precision int8

            With --precision bf16, int8 or w8a8 the text is read one character at a time through
            the very steps `rnn sample --precision` runs (the same narrow weights and arithmetic), so
            the difference from fp32 is what the precision costs.
            """)

    @Option(help: "A character-model checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to score (UTF-8).")
    var text: String

    @Option(help: "Score as sampling with this precision runs: fp32, bf16, int8 or w8a8.", transform: parsePrecision)
    var precision: InferencePrecision = .fp32

    @OptionGroup var kernelThreads: KernelThreads

    @Flag(help: "Print {\"chars\": N, \"nats_per_char\": x, \"bits_per_char\": y}.")
    var json = false

    func run() throws {
        kernelThreads.apply()
        let model = try CharLanguageModel(contentsOf: checkpoint)
        let contents = try TextFile.read(text)
        let ids = try model.configuration.vocabulary.encode(contents, source: text)
        guard ids.count >= 2 else {
            throw RecurrentError.invalidFile(path: text, reason: "1 character: scoring needs at least 2")
        }
        let (nats, predictions) = try model.negativeLogLikelihood(ids, precision: precision)
        let perChar = nats / Double(predictions)
        if json {
            print(JSON.object([("chars", "\(ids.count)"), ("nats_per_char", JSON.number(perChar)),
                               ("bits_per_char", JSON.number(perChar / log(2)))]))
        } else {
            print(String(format: "%d characters, %d predictions: %.4f nats/char, %.4f bits/char, perplexity %.3f",
                         ids.count, predictions, perChar, perChar / log(2), exp(perChar)))
        }
    }
}

/// A weight precision for inference: fp32, bf16, int8 or w8a8.
func parsePrecision(_ text: String) throws -> InferencePrecision {
    do { return try InferencePrecision(parsing: text) } catch { throw ValidationError("\(error)") }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors, shapes, dtypes and config, and say what it can be used for.",
        discussion: """
            Examples:
              rnn inspect runs/shakespeare/best.safetensors
              rnn inspect model.safetensors --json
            """)

    @Argument(help: "A .safetensors file.")
    var file: String

    @Flag(help: "Print JSON: {\"path\", \"bytes\", \"tensors\": [{\"name\", \"dtype\", \"shape\"}], \"metadata\", \"uses\"}.")
    var json = false

    func run() throws {
        let report = try CheckpointInspection(path: file)
        if json {
            print(JSON.object([
                ("path", JSON.string(report.path)), ("bytes", "\(report.bytes)"),
                ("tensors", JSON.array(report.tensors.map { t in
                    JSON.object([("name", JSON.string(t.name)), ("dtype", JSON.string(t.dtype)),
                                 ("shape", JSON.array(t.shape.map(String.init)))])
                })),
                ("metadata", JSON.object(report.metadata.map { ($0.key, JSON.string($0.value)) })),
                ("uses", JSON.array(report.uses.map(JSON.string))),
            ]))
            return
        }
        print("\(report.path): \(report.bytes) bytes, \(report.tensors.count) tensors")
        let width = report.tensors.map(\.name.count).max() ?? 0
        for t in report.tensors {
            print("  " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(t.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(t.shape)")
        }
        for (key, value) in report.metadata {
            let shown = value.count > 300 ? String(value.prefix(300)) + "…" : value
            print("metadata \(key): \(shown)")
        }
        for use in report.uses { print("use: \(use)") }
    }
}
