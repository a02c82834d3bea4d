import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a model trained by rnn fit: one JSON line per example.",
        discussion: """
            Writes {"id": ..., "prediction": ..., "probability": ...} per line ("log_probability" for
            sequence outputs). Targets in the data are ignored.

            Examples:
              rnn predict --checkpoint runs/weeks/best.safetensors --data weeks.jsonl
              rnn predict --checkpoint runs/add/best.safetensors --data questions.jsonl --beam 4
            """)

    @Option(help: "A checkpoint written by rnn fit.")
    var checkpoint: String

    @Option(help: "Examples (JSON Lines).")
    var data: String

    @Option(parsing: .unconditional, help: "Beam width for sequence outputs (1: greedy).")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: OnError = .stop

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
    }

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: checkpoint)
        let (lines, skipped) = try predictor.predict(data: data, beam: beam, onError: onError)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if skipped > 0 { FileHandle.standardError.write(Data("skipped \(skipped) bad lines\n".utf8)) }
    }
}
