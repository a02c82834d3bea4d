import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps
#if Server
import RecurrentServer
#endif

#if Server
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve character and task models over HTTP, generation continuously batched.",
        discussion: """
            POST /v1/generate streams a character model's text as Server-Sent Events (one event per \
            character; "stream": false for one JSON answer): the same seed gives the same text as \
            rnn sample, whatever else the server is doing. POST /v1/score gives rnn score's nats and \
            bits per character, POST /v1/predict rnn predict's lines for a task model from rnn fit. \
            GET /v1/models, /health and /metrics (Prometheus). Every running stream's next character \
            is computed in one batched step of up to --max-batch rows. SIGTERM or Ctrl-C stops \
            accepting, lets streams finish for --shutdown-grace seconds, cuts the rest and exits 0. \
            docs/openapi.yaml describes the API.

            Examples:
              rnn serve --checkpoint runs/shakespeare/best.safetensors
              rnn serve --checkpoint poet=runs/poet/best.safetensors --checkpoint weeks=runs/weeks/best.safetensors --port 9000
              curl -N localhost:8080/v1/generate -d '{"prime": "ROMEO:", "length": 200, "seed": 7}'
            """)

    @Option(help: ArgumentHelp("A checkpoint to serve, as PATH or NAME=PATH (repeat for more). Without NAME: the file's name, or its folder's for best and last.",
                               valueName: "[NAME=]PATH"))
    var checkpoint: [String]

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "The port to listen on (0: any free port, printed).")
    var port = 8080

    @Option(parsing: .unconditional, help: "Rows of one batched generation step: streams generating at once.")
    var maxBatch = 64

    @Option(parsing: .unconditional, help: "Streams admitted at once per model, generating or waiting for a row; more are refused (429).")
    var maxStreams = 256

    @Option(parsing: .unconditional, help: "Characters one request may generate.")
    var maxTokens = 4096

    @Option(parsing: .unconditional, help: "Characters of one prime.")
    var maxPrime = 4096

    @Option(parsing: .unconditional, help: "The largest request body, in bytes (413 beyond).")
    var maxBody = 1 << 20

    @Option(help: "How character models' weights are stored: fp32, bf16, int8 or w8a8 (as rnn sample --precision).")
    var precision: InferencePrecision = .fp32

    @Option(parsing: .unconditional, help: "Seconds running streams may go on after SIGTERM before they are cut.")
    var shutdownGrace: Double = 10

    @OptionGroup var kernelThreads: KernelThreads

    func validate() throws {
        for (name, value) in [("max-batch", maxBatch), ("max-streams", maxStreams), ("max-tokens", maxTokens),
                              ("max-prime", maxPrime), ("max-body", maxBody)] where value < 1 {
            throw ValidationError("invalid \(name) '\(value)': expected at least 1")
        }
        guard maxBatch <= 4096 else { throw ValidationError("invalid max-batch '\(maxBatch)': expected 1...4096") }
        guard (0...65535).contains(port) else { throw ValidationError("invalid port '\(port)': expected 0...65535") }
        guard shutdownGrace >= 0 && shutdownGrace.isFinite else {
            throw ValidationError("invalid shutdown-grace '\(shutdownGrace)': expected a number of seconds ≥ 0")
        }
    }

    func run() throws {
        kernelThreads.apply()
        let checkpoints = checkpoint.map { spec -> (name: String?, path: String) in
            guard let eq = spec.firstIndex(of: "="), !FileManager.default.fileExists(atPath: spec) else { return (nil, spec) }
            return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
        }
        let options = ServerOptions(host: host, port: port,
                                    limits: GenerationLimits(maxBatch: maxBatch, maxStreams: maxStreams, maxTokens: maxTokens,
                                                             maxPrime: maxPrime),
                                    maxBodyBytes: maxBody, precision: precision,
                                    shutdownGrace: .milliseconds(Int64(shutdownGrace * 1000)))
        let server = try InferenceServer(checkpoints: checkpoints, options: options)
        let outcome = Outcome()
        Task {
            do {
                try await server.run { host, port in
                    FileHandle.standardOutput.write(Data("rnn serve: listening on http://\(host):\(port)\n".utf8))
                }
            } catch {
                outcome.error = error
            }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.error { throw error }
        FileHandle.standardOutput.write(Data("rnn serve: stopped\n".utf8))
    }

    /// How the server's task ended, handed to the waiting main thread.
    private final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var error: (any Error)?
    }
}
#else
/// `rnn serve` in a build without the server: says how to build it.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP (needs a build with the Server trait).",
        discussion: "This rnn was built without the HTTP server. Build it with: swift build -c release --traits Server")

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw RecurrentError.unavailable(
            what: "rnn serve", reason: "this rnn was built without the server; build it with: swift build -c release --traits Server",
            retryLater: false)
    }
}
#endif
