import Foundation

/// The one checkpoint format of every model the project trains: a safetensors file holding
///
/// - the model's parameters under PyTorch's state-dict names (`rnn.weight_ih_l0`, …), F32;
/// - the model's configuration as JSON metadata, under a key that names the kind of model
///   (`config` for a character model, `task` for a sequence task);
/// - in a run's `last` checkpoint, the training state: `training` metadata (JSON: the step,
///   the options to continue with) and `train.*` tensors (optimiser moments, random state,
///   carried hidden state, batch order).
///
/// One writer (`encode`) and one reader (`init(contentsOf:)`, `verify`, `load(into:)`): the
/// parameters are checked against the model's layout before any memory is allocated for them,
/// converted from F16, BF16 or F64 when a file holds those, and refused when not finite.
public struct Checkpoint: Sendable {
    public let file: SafetensorsFile
    public var path: String { file.path }

    /// Reads and parses `path`.
    /// - Throws: `RecurrentError` for a file that is not valid safetensors.
    public init(contentsOf path: String) throws { file = try SafetensorsFile(contentsOf: path) }

    /// A checkpoint from a parsed safetensors file.
    public init(_ file: SafetensorsFile) { self.file = file }

    /// The metadata under `key` (a configuration's JSON), if present.
    public subscript(metadata key: String) -> String? { file.metadata[key] }

    /// The `training` metadata as a JSON object; nil when the file has none (a `best` checkpoint,
    /// an exported or imported model).
    public var trainingFields: [String: Any]? {
        file.metadata["training"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Checks that the file holds every parameter of `layout` with its shape.
    /// - Parameters:
    ///   - model: appended to a missing tensor's message ("for a 2-layer lstm model"), may be empty.
    ///   - needs: who asks for the shape, in a mismatch's message ("the config (vocab 65, …)").
    /// - Throws: `RecurrentError.invalidFile` naming the first missing or mis-shaped tensor.
    public func verify(_ layout: ParameterLayout, model: String = "", needs: String) throws {
        for p in layout.parameters {
            guard let t = file[p.name] else {
                throw RecurrentError.invalidFile(path: path, reason: "missing tensor '\(p.name)'\(model.isEmpty ? "" : " " + model)")
            }
            let expected = p.cols == 1 ? [p.rows] : [p.rows, p.cols]
            guard t.shape == expected else {
                throw RecurrentError.invalidFile(path: path, reason: "tensor '\(p.name)' has shape \(t.shape), but \(needs) needs \(expected)")
            }
        }
    }

    /// Copies every parameter of `arena` from the file, by name (after `verify`).
    /// - Throws: `RecurrentError.invalidFile` for a weight that is not finite.
    public func load(into arena: ParameterArena) throws {
        for p in arena.parameters {
            let values = try file.floats(p.name)
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw RecurrentError.invalidFile(path: path, reason: "tensor '\(p.name)' holds \(values[i]) at index \(i); weights must be finite")
            }
            values.withUnsafeBufferPointer { arena.value(p).update(from: $0.baseAddress!, count: p.count) }
        }
    }

    /// The parameters of `arena` as tensors, in layout order, under their names; a column
    /// vector (a bias) is one-dimensional, as PyTorch stores it.
    public static func entries(_ arena: ParameterArena) -> [SafetensorsFile.Entry] {
        arena.parameters.map { p in
            SafetensorsFile.Entry(p.name, shape: p.cols == 1 ? [p.rows] : [p.rows, p.cols],
                                  floats: Array(UnsafeBufferPointer(start: arena.value(p), count: p.count)))
        }
    }

    /// The bytes of a checkpoint: `arena`'s parameters, then `state` (training-state tensors);
    /// `metadata` holds the configuration under its key, and `training` in a `last` checkpoint.
    /// The same input always gives the same bytes.
    public static func encode(_ arena: ParameterArena, metadata: [String: String], state: [SafetensorsFile.Entry] = []) -> Data {
        SafetensorsFile.encode(entries(arena) + state, metadata: metadata)
    }
}
