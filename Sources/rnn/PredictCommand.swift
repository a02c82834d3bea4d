import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a model trained by rnn fit: one JSON line per example.",
        discussion: """
            Writes {"id": ..., "prediction": ..., "probability": ...} per line ("log_probability" for \
            sequence outputs). Targets in the data are ignored.

            Examples:
              rnn predict --checkpoint runs/weeks/best.safetensors --data weeks.jsonl
              rnn predict --checkpoint runs/add/best.safetensors --data questions.jsonl --beam 4
            """)

    @OptionGroup var options: PredictionOptions

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: options.checkpoint)
        let (lines, skipped) = try predictor.predict(data: options.data, beam: options.beam, onError: options.onError)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if skipped > 0 { FileHandle.standardError.write(Data("skipped \(skipped) bad lines\n".utf8)) }
    }
}
