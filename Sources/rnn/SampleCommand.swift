import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a character model, one character at a time.",
        discussion: """
            Streams characters to standard output as they are generated. The same seed gives the \
            same text.

            Examples:
              rnn sample --checkpoint runs/shakespeare/best.safetensors
              rnn sample --checkpoint model.safetensors --length 500 --temperature 0.8 --prime "ROMEO:" --seed 7
              rnn sample --checkpoint model.safetensors --top-k 5
              rnn sample --checkpoint model.safetensors --precision int8

            --precision stores the weight matrices narrow while sampling: bf16 (bfloat16) or int8 \
            (a float scale per row) with float32 arithmetic, or w8a8 (int8 weights and activations, \
            integer dot products, AVX-512 VNNI). Faster; the text differs from fp32's, and \
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

    @Option(help: "How the weights are stored while sampling: fp32, bf16, int8 or w8a8.")
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
