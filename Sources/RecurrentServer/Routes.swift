#if Server
import Foundation
import Hummingbird
import NIOCore
import Recurrent
import RecurrentApps

extension InferenceServer {
    /// The routes, behind a middleware that answers every error as JSON and counts requests.
    func router() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.add(middleware: Observe(metrics: metrics))
        router.get("/health") { _, _ in Response.json("{\"status\": \"ok\"}") }
        router.get("/v1/models") { [models] _, _ in
            Response.json(JSONText.object([("models", JSONText.array(models.map(\.json)))]))
        }
        router.get("/metrics") { [self] _, _ in
            let active = models.compactMap { m -> (labels: [(String, String)], value: Double)? in
                guard case let .char(_, engine) = m.kind else { return nil }
                return ([("model", m.name)], Double(engine.activeStreams))
            }
            let text = metrics.text(gauges: [("rnn_active_streams", "Streams admitted and not finished, by model.", active)])
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/v1/generate") { [self] request, context in try await generate(request, channel: context.channel) }
        router.post("/v1/score") { [self] request, _ in try await score(request) }
        router.post("/v1/predict") { [self] request, _ in try await predict(request) }
        return router
    }

    /// The request's body, refused with 413 past `maxBodyBytes`.
    func body(_ request: Request) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > options.maxBodyBytes {
            throw APIError(.contentTooLarge, "the body is \(length) bytes: at most \(options.maxBodyBytes) (--max-body)")
        }
        do {
            return try await request.body.collect(upTo: options.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body is larger than \(options.maxBodyBytes) bytes (--max-body)")
        }
    }

    // MARK: POST /v1/generate

    func generate(_ request: Request, channel: any Channel) async throws -> Response {
        let start = ContinuousClock.now
        let fields = try RequestFields(try await body(request),
                                       known: ["model", "prime", "length", "temperature", "top_k", "seed", "stream"])
        let served = try model(try fields.string("model"), char: true)
        guard case let .char(_, engine) = served.kind else { preconditionFailure("model(char: true) gave a task model") }
        let limits = engine.limits
        let generation = GenerationRequest(
            prime: try fields.string("prime") ?? "", length: try fields.integer("length", in: 0...limits.maxTokens) ?? min(200, limits.maxTokens),
            temperature: try fields.float("temperature") ?? 1, topK: try fields.integer("top_k", in: 1...Int.max),
            seed: try fields.seed("seed") ?? 1)
        let streamed = try fields.bool("stream") ?? true
        let characters: GenerationStream
        do {
            characters = try engine.generate(generation)
        } catch let error as RecurrentError {
            throw APIError(error)
        }
        // A client that disconnects cancels its stream at once, running or still waiting for a row.
        let unwatch = connections.watch(characters, on: channel)
        guard streamed else {
            defer { unwatch() }
            var text = ""
            do {
                while let chunk = try await characters.nextChunk() { text += chunk }
            } catch let error as RecurrentError {
                throw APIError(error)
            }
            return .json(JSONText.object([("model", JSONText.string(served.name)), ("text", JSONText.string(text)),
                                          ("tokens", "\(text.count)")]))
        }
        let metrics = self.metrics
        let name = served.name
        let body = ResponseBody { writer in
            defer { unwatch() }
            var last = start
            var count = 0
            do {
                // What was drawn while the last write went out goes out in one write: a client
                // (or a server) that falls behind catches up in one wake-up.
                while let chunk = try await characters.nextChunk() {
                    let now = ContinuousClock.now
                    metrics.tokenGap((now - last).seconds, count: chunk.count)
                    last = now
                    count += chunk.count
                    var events = ByteBuffer()
                    for c in chunk { events.writeString("data: " + JSONText.object([("token", JSONText.string(String(c)))]) + "\n\n") }
                    try await writer.write(events)
                }
                try await writer.write(ByteBuffer(string: "event: end\ndata: "
                    + JSONText.object([("model", JSONText.string(name)), ("tokens", "\(count)")]) + "\n\n"))
            } catch let error as RecurrentError {
                // Cut while stopping, or the model's output stopped being finite: say so in the stream.
                try await writer.write(ByteBuffer(string: "event: error\ndata: " + APIError(error).json + "\n\n"))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    // MARK: POST /v1/score

    func score(_ request: Request) async throws -> Response {
        let fields = try RequestFields(try await body(request), known: ["model", "text"])
        let served = try model(try fields.string("model"), char: true)
        guard case let .char(model, _) = served.kind else { preconditionFailure("model(char: true) gave a task model") }
        guard let text = try fields.string("text") else { throw APIError(.unprocessableContent, field: "text", "'text' is required") }
        let ids: [Int32]
        do {
            ids = try model.configuration.vocabulary.encode(text, source: "the text")
        } catch let error as RecurrentError {
            throw APIError(.unprocessableContent, field: "text", "\(error)")
        }
        guard ids.count >= 2 else {
            throw APIError(.unprocessableContent, field: "text", "\(ids.count) character\(ids.count == 1 ? "" : "s"): scoring needs at least 2")
        }
        let precision = options.precision
        let result: (nats: Double, predictions: Int)
        do {
            result = try await served.run { try model.negativeLogLikelihood(ids, precision: precision) }
        } catch let error as RecurrentError {
            throw APIError(error)
        }
        let perChar = result.nats / Double(result.predictions)
        return .json(JSONText.object([("model", JSONText.string(served.name)), ("chars", "\(ids.count)"),
                                      ("predictions", "\(result.predictions)"), ("nats_per_char", JSONText.number(perChar)),
                                      ("bits_per_char", JSONText.number(perChar / log(2)))]))
    }

    // MARK: POST /v1/predict

    func predict(_ request: Request) async throws -> Response {
        let fields = try RequestFields(try await body(request), known: ["model", "examples", "beam"])
        let served = try model(try fields.string("model"), char: false)
        let beam = try fields.integer("beam", in: 1...64) ?? 1
        guard let examples = try fields.array("examples") else {
            throw APIError(.unprocessableContent, field: "examples", "'examples' is required: an array of {\"input\": …} objects")
        }
        guard (1...options.maxExamples).contains(examples.count) else {
            throw APIError(.unprocessableContent, field: "examples", "\(examples.count) examples: expected 1...\(options.maxExamples)")
        }
        // One JSON line per example, read as `rnn predict` reads a file (numbers pass through a
        // Double, as there); a bad example gets its own {"line": N, "error": …} in place.
        var lines: [String] = []
        for (i, e) in examples.enumerated() {
            guard e is [String: Any], let data = try? JSONSerialization.data(withJSONObject: e, options: [.withoutEscapingSlashes]) else {
                throw APIError(.unprocessableContent, field: "examples", "example \(i + 1) is not a JSON object")
            }
            lines.append(String(decoding: data, as: UTF8.self))
        }
        let text = lines.joined(separator: "\n") + "\n"
        let predictions: [String]
        do {
            predictions = try await served.predict(jsonl: text, beam: beam)
        } catch let error as RecurrentError {
            throw APIError(error, field: "examples")
        }
        return .json(JSONText.object([("model", JSONText.string(served.name)), ("predictions", JSONText.array(predictions))]))
    }
}

/// Answers every error as JSON (`APIError`; the router's own 404 and 405 too) and counts each
/// request with its status and time in the metrics.
struct Observe<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let endpoint = ["/health", "/metrics", "/v1/models", "/v1/generate", "/v1/score", "/v1/predict"]
            .first { $0 == request.uri.path } ?? "other"
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let apiError: APIError
            if error.status == .notFound && endpoint != "other" {
                // The router's 404 for a known path is a method it does not take.
                let method = endpoint.hasPrefix("/v1/") && endpoint != "/v1/models" ? "POST" : "GET"
                apiError = APIError(.methodNotAllowed, "\(request.method) \(request.uri.path): use \(method)")
            } else if error.status == .notFound {
                apiError = APIError(.notFound, "no such path: \(request.method) \(request.uri.path) (see docs/openapi.yaml)")
            } else {
                apiError = APIError(error.status, error.body ?? error.status.reasonPhrase)
            }
            response = try apiError.response(from: request, context: context)
        }
        metrics.request(endpoint: endpoint, status: response.status.code, seconds: (ContinuousClock.now - start).seconds)
        return response
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
#endif
