import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a PyTorch state dict (safetensors) into a character-model checkpoint.",
        discussion: """
            Reads any state dict holding an nn.Embedding(V, E), a unidirectional nn.LSTM, nn.GRU or \
            nn.RNN(E, H, L) and an nn.Linear(H, V), saved with safetensors.torch.save_file; the \
            modules are found by name and shape, whatever their prefixes. The V characters come \
            from --vocab-from (the training text, or a checkpoint) or the file's config metadata. \
            Use `rnn inspect FILE` to see the modules a file holds.

            Examples:
              rnn import model_state.safetensors --vocab-from input.txt --out model.safetensors
              rnn import lm.safetensors --vocab-from input.txt --embedding encoder --rnn rnn --head decoder --out lm-rnn.safetensors
              rnn import relu.safetensors --vocab-from input.txt --cell rnn_relu --out relu-model.safetensors
            """)

    @Argument(help: "A PyTorch state dict saved with safetensors.")
    var stateDict: String

    @Option(help: "Where to write the checkpoint (.safetensors).")
    var out: String

    @Option(help: "The training text (its sorted distinct characters) or a checkpoint whose vocabulary to use.")
    var vocabFrom: String?

    @Option(help: "The embedding module's name, when shapes alone do not tell.")
    var embedding: String?

    @Option(name: .customLong("rnn"), help: "The recurrent module's name, when the file holds several.")
    var recurrent: String?

    @Option(help: "The output layer's name, when shapes alone do not tell.")
    var head: String?

    @Option(help: "The cell: lstm, gru, rnn_tanh or rnn_relu (an nn.RNN's nonlinearity is not in its state dict; default: tanh).",
            transform: { try CellKind(parsing: $0) })
    var cell: CellKind?

    func run() throws {
        try checkOutputFile(out, notOverwriting: [stateDict] + (vocabFrom.map { [$0] } ?? []))
        let dict = try PyTorchStateDict(SafetensorsFile(contentsOf: stateDict))
        let vocabulary = try vocabFrom.map { try Vocabulary(source: $0) }
        let model = try CharLanguageModel(importing: dict, vocabulary: vocabulary,
                                          options: CharModelImportOptions(embedding: embedding, recurrent: recurrent, head: head, cell: cell))
        try writeAtomically(model.checkpointData(), to: out)
        let c = model.configuration
        print("wrote \(out): a \(c.layerShape) \(c.cell.rawValue) character model, \(c.vocabulary.count) characters, "
              + "embedding \(c.embeddingSize)")
    }
}
