import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Look inside a character model: surprisal, interpretable units, gate saturation, as an HTML page or JSON.",
        discussion: """
            The text is read one character at a time from a zero state (at most --max-steps \
            steps; the page and the JSON say how many they show and whether the text was cut short). \
            The HTML report (the default) is one self-contained file, nothing fetched from a network: \
            the text coloured by the surprisal of each character with the top-5 predictions on hover; \
            the text coloured by any hidden unit, with the units that track the position in the line, \
            quotes, brackets, or themselves (autocorrelation) ranked; per layer and σ gate, each unit's \
            fractions of steps below 0.1 and above 0.9 as a scatter; and a heat map of the hidden state \
            over the first 300 steps. --json writes the numbers instead: per step the character, the \
            surprisal of the next one in bits and the top-5 predictions; per layer the saturation, the \
            ranked units and every step's hidden state. The format follows --json, not the file's \
            extension; without --out either goes to standard output. Character models (rnn train's) \
            only, so far.

            Examples:
              rnn explain --checkpoint runs/shakespeare/best.safetensors --text valid.txt --out report.html
              rnn explain --checkpoint runs/shakespeare/best.safetensors --text valid.txt --json --out explain.json
              rnn explain --checkpoint model.safetensors --text valid.txt --json --max-steps 500
              head -c 1000 valid.txt | rnn explain --checkpoint model.safetensors --text - --json
            """)

    @Option(help: "A character-model checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to read (UTF-8; - for standard input).")
    var text: String

    @Flag(help: "Write the explanation as JSON instead of the HTML report.")
    var json = false

    @Option(help: "The HTML (or, with --json, JSON) file to write, atomically (default: standard output).")
    var out: String?

    @Option(help: "At most this many steps (characters read), from the start of the text.")
    var maxSteps: Int = 2000

    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws {
        guard maxSteps >= 1 else { throw ValidationError("invalid max-steps '\(maxSteps)': expected at least 1") }
    }

    func run() throws {
        kernelThreads.apply()
        if let out { try checkOutputFile(out, notOverwriting: [checkpoint, text].filter { $0 != "-" }) }
        let file = try SafetensorsFile(contentsOf: checkpoint)
        guard file.metadata["task"] == nil else {
            throw RecurrentError.invalidFile(path: checkpoint, reason: "a task model from rnn fit: rnn explain supports "
                                             + "character models (rnn train's) so far")
        }
        let model = try CharLanguageModel(checkpoint: file)
        let contents = try TextFile.read(text)
        let ids = try model.configuration.vocabulary.encode(contents, source: text)
        guard ids.count >= 2 else {
            throw RecurrentError.invalidFile(path: text, reason: "1 character: explaining needs at least 2")
        }
        let explanation = try model.explain(ids, maxSteps: maxSteps)
        let output = json
            ? explanation.json(source: [("checkpoint", JSON.string(checkpoint)), ("text", JSON.string(text))])
            : ExplanationReport(explanation, checkpoint: checkpoint, text: text).html()
        if let out {
            try writeAtomically(Data((output + "\n").utf8), to: out)
        } else {
            print(output)
        }
    }
}
