import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Mean negative log-likelihood of a text under a character model.",
        discussion: """
            The text is read as one stream from a zero state; each character is predicted from all \
            the characters before it (N − 1 predictions).

            Examples:
              rnn score --checkpoint runs/shakespeare/best.safetensors --text valid.txt
              rnn score --checkpoint model.safetensors --text valid.txt --json
              rnn score --checkpoint model.safetensors --text valid.txt --precision int8

            With --precision bf16, int8 or w8a8 the text is read one character at a time through \
            the very steps `rnn sample --precision` runs (the same narrow weights and arithmetic), so \
            the difference from fp32 is what the precision costs.
            """)

    @Option(help: "A character-model checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to score (UTF-8).")
    var text: String

    @Option(help: "Score as sampling with this precision runs: fp32, bf16, int8 or w8a8.")
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
