import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Look inside a character model: surprisal, gate saturation and interpretable units, as JSON.",
        discussion: """
            The text is read one character at a time from a zero state (at most --max-steps \
            steps; the JSON says how many it shows and whether the text was cut short). Per step: \
            the character, the surprisal of the next one in bits and the top-5 predictions. Per \
            layer: for each σ gate and unit, the fraction of steps below 0.1 and above 0.9; the \
            hidden units whose activation correlates most with the position in the line, being \
            inside double quotes or inside brackets, and with itself one step later; and every \
            step's hidden state. Character models (rnn train's) only, so far; the HTML report is \
            not built yet, so --json is required.

            Examples:
              rnn explain --checkpoint runs/shakespeare/best.safetensors --text valid.txt --json --out explain.json
              rnn explain --checkpoint model.safetensors --text valid.txt --json --max-steps 500
              head -c 1000 valid.txt | rnn explain --checkpoint model.safetensors --text - --json
            """)

    @Option(help: "A character-model checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The text to read (UTF-8; - for standard input).")
    var text: String

    @Flag(help: "Write the explanation as JSON (required: the HTML report is not built yet).")
    var json = false

    @Option(help: "The JSON file to write, atomically (default: standard output).")
    var out: String?

    @Option(help: "At most this many steps (characters read), from the start of the text.")
    var maxSteps: Int = 2000

    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws {
        guard json else {
            throw ValidationError("rnn explain writes JSON only so far: the HTML report is not built yet; give --json")
        }
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
        let output = explanation.json(source: [("checkpoint", JSON.string(checkpoint)), ("text", JSON.string(text))])
        if let out {
            try writeAtomically(Data((output + "\n").utf8), to: out)
        } else {
            print(output)
        }
    }
}
