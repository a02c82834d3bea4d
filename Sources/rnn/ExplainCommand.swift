import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Look inside a model: a character model's surprisal, units and gates, or a task model's predictions step by step.",
        discussion: """
            A character model (rnn train's) reads --text one character at a time from a zero state (at most --max-steps \
            steps; the page and the JSON say how many they show and whether the text was cut short). \
            The HTML report (the default) is one self-contained file, nothing fetched from a network: \
            the text coloured by the surprisal of each character with the top-5 predictions on hover; \
            the text coloured by any hidden unit, with the units that track the position in the line, \
            quotes, brackets, or themselves (autocorrelation) ranked; per layer and σ gate, each unit's \
            fractions of steps below 0.1 and above 0.9 as a scatter; and a heat map of the hidden state \
            over the first 300 steps. --json writes the numbers instead: per step the character, the \
            surprisal of the next one in bits and the top-5 predictions; per layer the saturation, the \
            ranked units and every step's hidden state. The format follows --json, not the file's \
            extension; without --out either goes to standard output.

            A task model (rnn fit's) reads --data instead, a JSON Lines file as rnn predict reads it, \
            and explains its first --max-examples examples: classify and regress, the prediction and \
            how it formed (the head applied after each step, to h_t or, with --pooling mean, to the \
            mean so far: the label's probability or the values step by step; not for bidirectional \
            models); tag, each step's label and probability beside the true one when the line has a \
            target; seq2seq and caption, the greedy output token by token with each token's \
            probability and, with attention, the weights over the source tokens as a heat map.

            Examples:
              rnn explain --checkpoint runs/shakespeare/best.safetensors --text valid.txt --out report.html
              rnn explain --checkpoint runs/shakespeare/best.safetensors --text valid.txt --json --out explain.json
              rnn explain --checkpoint model.safetensors --text valid.txt --json --max-steps 500
              head -c 1000 valid.txt | rnn explain --checkpoint model.safetensors --text - --json
              rnn explain --checkpoint runs/sentiment/best.safetensors --data test.jsonl --out sentiment.html
              rnn explain --checkpoint runs/tagger/best.safetensors --data test.jsonl --json --max-examples 5
            """)

    @Option(help: "A checkpoint (.safetensors): a character model's (rnn train) or a task model's (rnn fit).")
    var checkpoint: String

    @Option(help: "Character models: the text to read (UTF-8; - for standard input).")
    var text: String?

    @Option(help: "Task models: the examples to explain (JSON Lines, as rnn predict reads them; - for standard input).")
    var data: String?

    @Flag(help: "Write the explanation as JSON instead of the HTML report.")
    var json = false

    @Option(help: "The HTML (or, with --json, JSON) file to write, atomically (default: standard output).")
    var out: String?

    @Option(help: "Character models: at most this many steps (characters read), from the start of the text.")
    var maxSteps: Int = 2000

    @Option(help: "Task models: explain at most this many examples, the first readable ones.")
    var maxExamples: Int = 20

    @Option(help: "Task models: a bad line, stop or skip (as rnn predict).")
    var onError: OnError = .stop

    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws {
        guard maxSteps >= 1 else { throw ValidationError("invalid max-steps '\(maxSteps)': expected at least 1") }
        guard maxExamples >= 1 else { throw ValidationError("invalid max-examples '\(maxExamples)': expected at least 1") }
        guard (text == nil) != (data == nil) else {
            throw ValidationError(text == nil ? "expected --text (a character model) or --data (a task model)"
                                              : "--text and --data: give one, --text for a character model, --data for a task model")
        }
    }

    func run() throws {
        kernelThreads.apply()
        let input = text ?? data!
        if let out { try checkOutputFile(out, notOverwriting: [checkpoint, input].filter { $0 != "-" }) }
        let file = try SafetensorsFile(contentsOf: checkpoint)
        let output: String
        if file.metadata["task"] != nil {
            guard let data else {
                throw RecurrentError.invalidFile(path: checkpoint, reason: "a task model from rnn fit: give its examples "
                                                 + "with --data FILE.jsonl, not --text")
            }
            let predictor = try TaskPredictor(checkpoint: file)
            let explanation = try predictor.explain(file: data, maxExamples: maxExamples, onError: onError)
            if !explanation.skipped.isEmpty {
                FileHandle.standardError.write(Data("skipped \(explanation.skipped.count) bad lines\n".utf8))
            }
            output = json
                ? explanation.json(source: [("checkpoint", JSON.string(checkpoint)), ("data", JSON.string(data))])
                : TaskExplanationReport(explanation, checkpoint: checkpoint, data: data).html()
        } else {
            guard let text else {
                throw RecurrentError.invalidFile(path: checkpoint, reason: "a character model from rnn train: give its text "
                                                 + "with --text FILE, not --data")
            }
            output = try explainCharacters(file, text: text)
        }
        if let out {
            try writeAtomically(Data((output + "\n").utf8), to: out)
        } else {
            print(output)
        }
    }

    /// The character model's report or JSON.
    func explainCharacters(_ file: SafetensorsFile, text: String) throws -> String {
        let model = try CharLanguageModel(checkpoint: file)
        let contents = try TextFile.read(text)
        let ids = try model.configuration.vocabulary.encode(contents, source: text)
        guard ids.count >= 2 else {
            throw RecurrentError.invalidFile(path: text, reason: "1 character: explaining needs at least 2")
        }
        let explanation = try model.explain(ids, maxSteps: maxSteps)
        return json
            ? explanation.json(source: [("checkpoint", JSON.string(checkpoint)), ("text", JSON.string(text))])
            : ExplanationReport(explanation, checkpoint: checkpoint, text: text).html()
    }
}
