import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a model trained by rnn fit on labelled data.",
        discussion: """
            classify: accuracy, macro-F1, confusion matrix; regress: MSE and MAE next to predicting the \
            training mean; tag: per-step accuracy; seq2seq and caption: exact match, token accuracy, and \
            corpus BLEU for seq2seq.

            Examples:
              rnn evaluate --checkpoint runs/weeks/best.safetensors --data test.jsonl
              rnn evaluate --checkpoint runs/add/best.safetensors --data test.jsonl --json
            """)

    @OptionGroup var options: PredictionOptions

    @Flag(help: "Print one JSON object: the metrics, and for classify the labels and the confusion matrix.")
    var json = false

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: options.checkpoint)
        let result = try predictor.evaluate(data: options.data, beam: options.beam, onError: options.onError)
        if json {
            // classify adds its labels and the confusion matrix (rows: truth, columns: prediction).
            let matrix: [(String, String)] = result.confusion.map { m in
                [("labels", JSON.array(result.labels.map(JSON.string))),
                 ("confusion", JSON.array(m.map { row in JSON.array(row.map(String.init)) }))]
            } ?? []
            print(JSON.object([("task", JSON.string(result.task.rawValue)), ("examples", "\(result.examples)")]
                              + result.metrics.map { ($0.0, JSON.number($0.1)) } + matrix))
            return
        }
        print("\(result.task.rawValue): \(result.examples) examples" + (result.skipped > 0 ? ", \(result.skipped) skipped" : ""))
        for (name, value) in result.metrics { print(String(format: "  %@ %.4f", name.padding(toLength: 14, withPad: " ", startingAt: 0), value)) }
        if let confusion = result.confusion {
            print("confusion matrix (rows: truth, columns: prediction):")
            let width = max(6, result.labels.map(\.count).max() ?? 0)
            print(String(repeating: " ", count: width + 1) + result.labels.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " "))
            for (label, row) in zip(result.labels, confusion) {
                print(label.padding(toLength: width, withPad: " ", startingAt: 0) + " "
                      + row.map { String($0).padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " "))
            }
        }
    }
}
