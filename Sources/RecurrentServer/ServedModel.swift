#if Server
import Dispatch
import Foundation
import Recurrent
import RecurrentApps

/// A checkpoint the server answers for, under a name: a character model (generate, score) with
/// its batching engine, or a task model from `rnn fit` (predict).
final class ServedModel: @unchecked Sendable {
    enum Kind {
        case char(CharLanguageModel, GenerationEngine)
        case task(TaskPredictor)
    }

    let name: String
    let path: String
    let kind: Kind
    /// Scoring and prediction run here, one request at a time per model, off the server's threads.
    private let queue: DispatchQueue

    /// Loads `path`; a character model's engine starts at once.
    /// - Throws: `RecurrentError` for a file that is not a checkpoint of either kind.
    init(name: String, path: String, precision: InferencePrecision, limits: GenerationLimits,
         observer: @escaping @Sendable (String, GenerationStepReport) -> Void) throws {
        self.name = name
        self.path = path
        queue = DispatchQueue(label: "rnn serve \(name)")
        let file = try SafetensorsFile(contentsOf: path)
        if file.metadata["task"] != nil {
            kind = .task(try TaskPredictor(checkpoint: file))
        } else {
            let model = try CharLanguageModel(checkpoint: file)
            kind = .char(model, try GenerationEngine(model: model, precision: precision, limits: limits) { observer(name, $0) })
        }
    }

    /// "char", or the task's kind ("classify", "seq2seq", …).
    var kindName: String {
        switch kind {
        case .char: return "char"
        case let .task(p): return p.spec.kind.rawValue
        }
    }

    /// `{"name": …, "kind": …, "checkpoint": …, "config": {…}}` for `GET /v1/models`.
    var json: String {
        let config: String
        switch kind {
        case let .char(model, _): config = model.configuration.json
        case let .task(p): config = p.spec.json
        }
        return JSONText.object([("name", JSONText.string(name)), ("kind", JSONText.string(kindName)),
                                ("checkpoint", JSONText.string(path)), ("config", config)])
    }

    /// `work` on this model's queue, awaited.
    func run<T: Sendable>(_ work: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let work = UncheckedSendable(work)
            queue.async { continuation.resume(with: Result { try work.value() }) }
        }
    }

    /// `rnn predict`'s JSON lines for the examples of `text` (JSONL), on this model's queue.
    func predict(jsonl text: String, beam: Int) async throws -> [String] {
        guard case let .task(predictor) = kind else { preconditionFailure("predict on a character model") }
        return try await run { try predictor.predict(jsonl: text, source: "examples", beam: beam).map(predictor.jsonLine) }
    }

    /// The name for a checkpoint given without one: its file name without the extension, or its
    /// folder's name for `best` and `last` (runs/shakespeare/best.safetensors → shakespeare).
    static func defaultName(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let folder = url.deletingLastPathComponent().lastPathComponent
        return (stem == "best" || stem == "last") && !folder.isEmpty && folder != "/" && folder != "." ? folder : stem
    }
}
/// A value handed to the model's queue, where only it touches it.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
#endif
