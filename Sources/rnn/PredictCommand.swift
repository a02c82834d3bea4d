import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a model trained by rnn fit: one JSON line per example.",
        discussion: """
            Writes {"id": ..., "prediction": ..., "probability": ..., "unknown": ...} per line \
            ("log_probability" for sequence outputs; "unknown" for text inputs: the fraction of tokens \
            the model never saw in training). Targets in the data are ignored. With --on-error skip, \
            a bad line gets {"line": N, "error": ...}, so outputs line up with inputs. --data - \
            reads standard input.

            Examples:
              rnn predict --checkpoint runs/weeks/best.safetensors --data weeks.jsonl
              rnn predict --checkpoint runs/add/best.safetensors --data questions.jsonl --beam 4
            """)

    @OptionGroup var options: PredictionOptions

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: options.checkpoint)
        let outputs = try predictor.predict(file: options.data, beam: options.beam, onError: options.onError)
        FileHandle.standardOutput.write(Data((outputs.map(predictor.jsonLine).joined(separator: "\n") + "\n").utf8))
        let skipped = outputs.filter { $0.error != nil }.count
        if skipped > 0 { FileHandle.standardError.write(Data("skipped \(skipped) bad lines (an \"error\" line each)\n".utf8)) }
        // Inputs mostly of tokens the model never saw: their predictions are guesses.
        let unknown = outputs.filter { ($0.unknownRate ?? 0) > 0.5 }.map(\.line)
        if !unknown.isEmpty {
            let shown = unknown.prefix(5).map(String.init).joined(separator: ", ") + (unknown.count > 5 ? ", …" : "")
            FileHandle.standardError.write(Data(("warning: \(unknown.count) input\(unknown.count == 1 ? " is" : "s are") more than half "
                + "tokens the model never saw in training (line\(unknown.count == 1 ? "" : "s") \(shown)): their predictions are guesses\n").utf8))
        }
    }
}
