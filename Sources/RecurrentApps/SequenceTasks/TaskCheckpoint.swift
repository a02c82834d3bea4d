import Foundation
import Recurrent

/// Task checkpoints: the arena's tensors (PyTorch-style names) and the spec as `task` metadata,
/// in the one `Checkpoint` format.
package enum TaskCheckpoint {
    static func encode(spec: TaskSpecification, arena: ParameterArena, extra: [String: String],
                       entries trainingState: [SafetensorsFile.Entry] = []) -> Data {
        Checkpoint.encode(arena, metadata: extra.merging(["task": spec.json]) { a, _ in a }, state: trainingState)
    }

    /// Loads a task checkpoint.
    /// - Throws: `RecurrentError.invalidFile` for another kind of checkpoint, a spec that does not
    ///   match the tensors, or non-finite weights.
    static func load(_ path: String) throws -> (TaskSpecification, any TaskNetwork) {
        try load(SafetensorsFile(contentsOf: path))
    }

    /// Loads a parsed task checkpoint (`file.path` names it in errors).
    static func load(_ file: SafetensorsFile) throws -> (TaskSpecification, any TaskNetwork) {
        let path = file.path
        guard let json = file.metadata["task"] else {
            throw RecurrentError.invalidFile(path: path, reason: file.metadata["config"] != nil
                ? "a character model from rnn train, not a task model: use rnn sample or rnn score"
                : "no \"task\" metadata: not a checkpoint written by rnn fit")
        }
        let spec = try TaskSpecification(json: json, path: path)
        // Each recurrent layer has at least two tensors: refuse a layer count the file cannot
        // hold before building the layout (whose cost grows with it).
        guard spec.layers <= file.tensors.count / 2 else {
            throw RecurrentError.invalidFile(path: path, reason: "the task metadata says \(spec.layers) layers, "
                                             + "but the file holds only \(file.tensors.count) tensors")
        }
        let checkpoint = Checkpoint(file)
        let network = try makeTaskNetwork(spec, dropout: 0, seed: 0) { try checkpoint.verify($0, needs: "the task metadata") }
        try checkpoint.load(into: network.arena)
        return (spec, network)
    }
}
