import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a character model as an ONNX file (opset 17).",
        discussion: """
            Inputs: tokens int64 [batch, time]; h0 and c0 (LSTM) float [layers, batch, H].
            Outputs: logits [batch, time, vocab]; hn and cn (LSTM), which are the next \
            chunk's h0 and c0 when streaming. The same checkpoint always gives the same \
            bytes, written atomically. Only character-model checkpoints export (not task \
            models from rnn fit).

            Examples:
              rnn export --checkpoint runs/shakespeare/best.safetensors --onnx shakespeare.onnx
            """)

    @Option(help: "A character-model checkpoint (.safetensors).")
    var checkpoint: String

    @Option(help: "The ONNX file to write (its folder must exist).")
    var onnx: String

    func run() throws {
        let summary = try exportONNX(checkpoint: checkpoint, to: onnx)
        let c = summary.configuration
        print("wrote \(summary.path): \(c.layers)×\(c.hiddenSize) \(c.cell.rawValue), \(c.vocabulary.count) characters, "
              + "ONNX opset \(ONNXExport.opsetVersion), \(summary.bytes) bytes")
    }
}
