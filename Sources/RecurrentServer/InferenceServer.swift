#if Server
import Foundation
import Hummingbird
import Logging
import Recurrent
import RecurrentApps
import ServiceLifecycle

/// How `rnn serve` listens and what it allows.
public struct ServerOptions: Sendable {
    public var host: String
    /// 0: any free port (`InferenceServer.run`'s `onListening` says which).
    public var port: Int
    /// Every character model's engine: rows per step, streams, tokens per request, prime length.
    public var limits: GenerationLimits
    /// The largest request body, in bytes; a larger one is refused with 413.
    public var maxBodyBytes: Int
    /// Examples in one `/v1/predict` request.
    public var maxExamples: Int
    /// How every character model's weights are stored (as `rnn sample --precision`).
    public var precision: InferencePrecision
    /// On SIGTERM or SIGINT, how long running streams may go on before they are cut.
    public var shutdownGrace: Duration

    public init(host: String = "127.0.0.1", port: Int = 8080, limits: GenerationLimits = GenerationLimits(),
                maxBodyBytes: Int = 1 << 20, maxExamples: Int = 1024, precision: InferencePrecision = .fp32,
                shutdownGrace: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.limits = limits
        self.maxBodyBytes = maxBodyBytes
        self.maxExamples = maxExamples
        self.precision = precision
        self.shutdownGrace = shutdownGrace
    }
}

/// `rnn serve`: character and task models over HTTP, generation streamed as Server-Sent Events
/// from each model's `GenerationEngine` (continuous batching).
///
/// Endpoints: `POST /v1/generate`, `POST /v1/score`, `POST /v1/predict`, `GET /v1/models`,
/// `GET /health`, `GET /metrics` (docs/openapi.yaml describes them). Errors are JSON,
/// `{"error": {"field": …, "message": …}}`, with 400 (unreadable request), 404 (unknown model or
/// path), 413 (body too large), 422 (a value out of range), 429 (all streams in use), 503
/// (stopping). SIGTERM or SIGINT stops accepting connections, lets streams finish for
/// `shutdownGrace` and cuts the rest, then `run` returns.
public final class InferenceServer: Sendable {
    let options: ServerOptions
    let models: [ServedModel]
    let metrics = ServerMetrics()
    let connections = ConnectionWatch()

    /// Loads every checkpoint and starts the character models' engines.
    /// - Parameter checkpoints: (name, path); a nil name is `ServedModel.defaultName(path)`.
    /// - Throws: `RecurrentError` for an unreadable checkpoint, a name given twice, or options out of range.
    public init(checkpoints: [(name: String?, path: String)], options: ServerOptions) throws {
        try require(!checkpoints.isEmpty, .invalidArgument(name: "checkpoints", value: "none", expected: "at least one --checkpoint"))
        try require(options.port >= 0 && options.port <= 65535, .invalidArgument(name: "port", value: "\(options.port)", expected: "0...65535"))
        try require(options.maxBodyBytes >= 1, .invalidArgument(name: "max body", value: "\(options.maxBodyBytes)", expected: "at least 1"))
        self.options = options
        var models: [ServedModel] = []
        let metrics = self.metrics
        for (name, path) in checkpoints {
            let name = name ?? ServedModel.defaultName(path)
            try require(!models.contains { $0.name == name },
                        .invalidArgument(name: "model name", value: name, expected: "a name used once (give NAME=CKPT)"))
            models.append(try ServedModel(name: name, path: path, precision: options.precision, limits: options.limits) {
                metrics.step(model: $0, $1)
            })
        }
        self.models = models
    }

    /// Serves until SIGTERM or SIGINT, then drains (see the type's summary) and returns.
    /// - Parameter onListening: called once the server listens, with its host and port.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        var logger = Logger(label: "rnn-serve")
        logger.logLevel = .warning
        let app = Application(router: router(), configuration: .init(address: .hostname(options.host, port: options.port),
                                                                     serverName: "rnn-serve"),
                              onServerRunning: { [options] channel in
                                  onListening(options.host, channel.localAddress?.port ?? options.port)
                              },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [Drain(app: app, server: self)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Runs the application; on graceful shutdown stops the engines (streams finish or are cut
    /// within the grace period) while the HTTP server stops accepting and waits for open requests.
    private struct Drain: Service {
        let app: Application<RouterResponder<ServeRequestContext>>
        let server: InferenceServer

        func run() async throws {
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                Task { await server.stopEngines() }
            }
        }
    }

    /// Stops every engine: no new stream; running ones get the grace period, then are cut.
    func stopEngines() async {
        await withTaskGroup(of: Void.self) { group in
            for model in models {
                if case let .char(_, engine) = model.kind {
                    group.addTask { await engine.stop(gracePeriod: self.options.shutdownGrace) }
                }
            }
        }
    }

    /// The model named `name`, or the only one of the wanted kind when `name` is nil.
    /// - Throws: 404 for an unknown name, 422 for a model of the other kind, 400 when the name is
    ///   needed.
    func model(_ name: String?, char: Bool) throws -> ServedModel {
        let wanted = char ? "character model" : "task model from rnn fit"
        let isChar: (ServedModel) -> Bool = { if case .char = $0.kind { return true } else { return false } }
        guard let name else {
            let fitting = models.filter { isChar($0) == char }
            guard fitting.count == 1 else {
                throw APIError(fitting.isEmpty ? .notFound : .badRequest, field: "model",
                               fitting.isEmpty ? "no \(wanted) is served" : "several are served: name one of "
                               + fitting.map(\.name).joined(separator: ", "))
            }
            return fitting[0]
        }
        guard let model = models.first(where: { $0.name == name }) else {
            throw APIError(.notFound, field: "model", "unknown model '\(name)': expected one of "
                           + models.map(\.name).joined(separator: ", ") + " (GET /v1/models)")
        }
        guard isChar(model) == char else {
            throw APIError(.unprocessableContent, field: "model", "model '\(name)' is a \(model.kindName) model: this endpoint needs a \(wanted)")
        }
        return model
    }
}
#endif
