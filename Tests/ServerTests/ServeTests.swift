#if Server
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `rnn serve` end to end on 127.0.0.1: generation equals `rnn sample` while other streams run,
/// score and predict equal `rnn score` and `rnn predict`, a catalogue of bad requests gets its
/// 4xx, disconnects free rows, SIGTERM drains and exits 0.
final class ServeTests: XCTestCase {
    nonisolated(unsafe) static var dir = ""
    nonisolated(unsafe) static var charModel = ""
    nonisolated(unsafe) static var taskModel = ""
    nonisolated(unsafe) static var server: ServerProcess?

    override class func setUp() {
        super.setUp()
        do {
            dir = try scratchFolder("serve")
            let text = String(repeating: "First Citizen:\nBefore we proceed any further, hear me speak.\n", count: 40)
            _ = FileManager.default.createFile(atPath: dir + "/input.txt", contents: Data(text.utf8))
            let train = try Child.run(["train", "--text", dir + "/input.txt", "--out", dir + "/char", "--steps", "3",
                                       "--hidden", "48", "--layers", "2", "--seed", "3", "--batch", "8", "--seq", "20"], in: dir)
            XCTAssertEqual(train.status, 0, train.stderr)
            charModel = dir + "/char/best.safetensors"
            _ = FileManager.default.createFile(atPath: dir + "/data.jsonl", contents: Data(
                "{\"input\": \"ab\", \"target\": \"x\"}\n{\"input\": \"ba\", \"target\": \"y\"}\n{\"input\": \"aab\", \"target\": \"x\"}\n".utf8))
            let fit = try Child.run(["fit", "--task", "classify", "--data", dir + "/data.jsonl", "--valid", dir + "/data.jsonl",
                                     "--hidden", "3", "--embedding", "2", "--epochs", "1", "--out", dir + "/fit"], in: dir)
            XCTAssertEqual(fit.status, 0, fit.stderr)
            taskModel = dir + "/fit/best.safetensors"
            server = try ServerProcess(["--checkpoint", "char=" + charModel, "--checkpoint", "task=" + taskModel,
                                        "--max-batch", "8", "--max-streams", "16", "--max-tokens", "100000", "--max-prime", "64",
                                        "--max-body", "4096"], in: dir)
        } catch {
            XCTFail("setting up: \(error)")
        }
    }

    override class func tearDown() {
        server?.kill()
        try? FileManager.default.removeItem(atPath: dir)
        super.tearDown()
    }

    var server: ServerProcess { get throws { try XCTUnwrap(Self.server, "the server did not start") } }

    /// `rnn sample`'s generated text (its output less the prime and the closing newline).
    func sample(prime: String, length: Int, temperature: String = "1", topK: Int? = nil, seed: UInt64) throws -> String {
        var arguments = ["sample", "--checkpoint", Self.charModel, "--prime", prime, "--length", "\(length)",
                         "--temperature", temperature, "--seed", "\(seed)"]
        if let topK { arguments += ["--top-k", "\(topK)"] }
        let r = try Child.run(arguments, in: Self.dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        return String(r.stdout.dropFirst(prime.count).dropLast())
    }

    /// A stream's text equals `rnn sample`'s for the same seed while 12 other streams (more than
    /// the 8 rows: some wait, then join) run beside it, and whole ("stream": false) too.
    func testStreamedTextEqualsSampleWhileOthersRun() throws {
        let server = try server
        let others = try (0..<12).map { i -> Connection in
            let c = try server.connect()
            try c.send("POST", "/v1/generate", body: "{\"length\": \(300 + 37 * i), \"seed\": \(i), \"prime\": \"Be\"}")
            return c
        }
        let body = "{\"model\": \"char\", \"prime\": \"First \", \"length\": 400, \"temperature\": 0.8, \"top_k\": 10, \"seed\": 42}"
        let streamed = try server.request("POST", "/v1/generate", body: body)
        XCTAssertEqual(streamed.status, 200, streamed.body)
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let expected = try sample(prime: "First ", length: 400, temperature: "0.8", topK: 10, seed: 42)
        XCTAssertEqual(expected.count, 400)
        XCTAssertEqual(streamedText(streamed.body), expected)
        let end = serverSentEvents(streamed.body).last
        XCTAssertEqual(end?.event, "end")
        XCTAssertTrue(end?.data.contains("\"tokens\": 400") ?? false, end?.data ?? "")
        // Every companion's text is its own sample's too.
        for (i, c) in others.enumerated() {
            let r = try c.readResponse()
            c.close()
            XCTAssertEqual(streamedText(r.body), try sample(prime: "Be", length: 300 + 37 * i, seed: UInt64(i)), "companion \(i)")
        }
        let whole = try server.json("POST", "/v1/generate", body: String(body.dropLast()) + ", \"stream\": false}")
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.object["text"] as? String, expected)
        XCTAssertEqual(whole.object["tokens"] as? Int, 400)
    }

    /// /v1/score gives `rnn score --json`'s numbers; /v1/predict `rnn predict`'s lines.
    func testScoreAndPredictEqualTheCommands() throws {
        let server = try server
        let text = "First Citizen:\nBefore we proceed"
        _ = FileManager.default.createFile(atPath: Self.dir + "/score.txt", contents: Data(text.utf8))
        let cli = try Child.run(["score", "--checkpoint", Self.charModel, "--text", Self.dir + "/score.txt", "--json"], in: Self.dir)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any], cli.stdout)
        let score = try server.json("POST", "/v1/score", body: "{\"text\": \"First Citizen:\\nBefore we proceed\"}")
        XCTAssertEqual(score.status, 200)
        for key in ["chars", "nats_per_char", "bits_per_char"] {
            XCTAssertEqual(score.object[key] as? Double, expected[key] as? Double, key)
        }
        XCTAssertEqual(score.object["predictions"] as? Int, text.count - 1)

        let examples = "{\"id\": \"a\", \"input\": \"ab\"}\n{\"input\": \"bba\"}\n{\"input\": 3}\n"
        _ = FileManager.default.createFile(atPath: Self.dir + "/predict.jsonl", contents: Data(examples.utf8))
        let lines = try Child.run(["predict", "--checkpoint", Self.taskModel, "--data", Self.dir + "/predict.jsonl",
                                   "--on-error", "skip"], in: Self.dir)
        let expectedLines = lines.stdout.split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary
        }
        let predict = try server.json("POST", "/v1/predict",
                                      body: "{\"model\": \"task\", \"examples\": [{\"id\": \"a\", \"input\": \"ab\"}, {\"input\": \"bba\"}, {\"input\": 3}]}")
        XCTAssertEqual(predict.status, 200, "\(predict.object)")
        let got = (predict.object["predictions"] as? [Any])?.map { $0 as? NSDictionary }
        XCTAssertEqual(got?.count, 3)
        XCTAssertEqual(got, expectedLines)
    }

    /// Every request in the catalogue gets its status and a JSON error naming the field.
    func testBadRequestCatalogue() throws {
        let server = try server
        let catalogue: [(path: String, body: String, status: Int, field: String?)] = [
            ("/v1/generate", "not json", 400, nil),
            ("/v1/generate", "[1, 2]", 400, nil),
            ("/v1/generate", "{\"lenght\": 5}", 400, "lenght"),
            ("/v1/generate", "{\"length\": \"5\"}", 400, "length"),
            ("/v1/generate", "{\"length\": 2.5}", 400, "length"),
            ("/v1/generate", "{\"length\": -1}", 422, "length"),
            ("/v1/generate", "{\"length\": 100001}", 422, "length"),
            ("/v1/generate", "{\"length\": 1e30}", 422, "length"),
            ("/v1/generate", "{\"temperature\": 0}", 422, "temperature"),
            ("/v1/generate", "{\"temperature\": -1}", 422, "temperature"),
            ("/v1/generate", "{\"top_k\": 0}", 422, "top_k"),
            ("/v1/generate", "{\"seed\": -3}", 422, "seed"),
            ("/v1/generate", "{\"seed\": \"abc\"}", 422, "seed"),
            ("/v1/generate", "{\"stream\": 1}", 400, "stream"),
            ("/v1/generate", "{\"prime\": 5}", 400, "prime"),
            ("/v1/generate", "{\"prime\": \"Zebra\"}", 422, "prime"),
            ("/v1/generate", "{\"prime\": \"\(String(repeating: "e", count: 65))\"}", 422, "prime"),
            ("/v1/generate", "{\"model\": \"nope\"}", 404, "model"),
            ("/v1/generate", "{\"model\": \"task\"}", 422, "model"),
            ("/v1/generate", "{\"prime\": \"\(String(repeating: "e", count: 5000))\"}", 413, nil),
            ("/v1/score", "{}", 422, "text"),
            ("/v1/score", "{\"text\": \"F\"}", 422, "text"),
            ("/v1/score", "{\"text\": \"First Zebra\"}", 422, "text"),
            ("/v1/score", "{\"text\": \"First\", \"model\": \"task\"}", 422, "model"),
            ("/v1/predict", "{\"examples\": []}", 422, "examples"),
            ("/v1/predict", "{\"examples\": {}}", 400, "examples"),
            ("/v1/predict", "{\"examples\": [5]}", 422, "examples"),
            ("/v1/predict", "{\"examples\": [{\"input\": \"ab\"}], \"beam\": 0}", 422, "beam"),
            ("/v1/predict", "{\"examples\": [{\"input\": \"ab\"}], \"model\": \"char\"}", 422, "model"),
            ("/v1/nothing", "{}", 404, nil),
        ]
        for (path, body, status, field) in catalogue {
            let r = try server.request("POST", path, body: body)
            XCTAssertEqual(r.status, status, "\(path) \(body.prefix(60)): \(r.body)")
            let error = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])?["error"] as? [String: Any]
            XCTAssertNotNil(error?["message"] as? String, "\(path) \(body.prefix(60)): \(r.body)")
            XCTAssertEqual(error?["field"] as? String, field, "\(path) \(body.prefix(60)): \(r.body)")
        }
        let get = try server.request("GET", "/v1/generate")
        XCTAssertEqual(get.status, 405, get.body)
        // The server still answers.
        XCTAssertEqual(try server.request("GET", "/health").status, 200)
    }

    /// /v1/models lists both models with their kinds and configs; /metrics counts requests and tokens.
    func testModelsAndMetrics() throws {
        let server = try server
        let models = try server.json("GET", "/v1/models")
        let list = try XCTUnwrap(models.object["models"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["name"] as? String }, ["char", "task"])
        XCTAssertEqual(list.map { $0["kind"] as? String }, ["char", "classify"])
        XCTAssertEqual((list[0]["config"] as? [String: Any])?["hidden_size"] as? Int, 48)
        _ = try server.request("POST", "/v1/generate", body: "{\"length\": 7}")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(server.metric("rnn_generated_tokens_total{model=\"char\"}")), 7)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(server.metric("rnn_http_requests_total{endpoint=\"/v1/generate\",status=\"200\"}")), 1)
        XCTAssertNotNil(try server.metric("rnn_batch_rows_count{model=\"char\"}"))
        XCTAssertNotNil(try server.metric("rnn_time_per_token_seconds_count"))
    }

    /// Clients that disconnect mid-stream free their rows; past --max-streams a request gets 429.
    func testDisconnectsFreeRowsAndStreamsAreLimited() throws {
        let dir = try scratchFolder("limits")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(["--checkpoint", Self.charModel, "--max-batch", "2", "--max-streams", "4",
                                        "--max-tokens", "1000000"], in: dir)
        defer { server.kill() }
        func open(_ i: Int) throws -> Connection {
            let c = try server.connect()
            try c.send("POST", "/v1/generate", body: "{\"length\": 1000000, \"seed\": \(i)}")
            return c
        }
        // Two take the two rows and stream; two more wait for a row.
        let running = try (0..<2).map(open)
        try waitFor { try server.metric("rnn_active_streams{model=\"char\"}") == 2 }
        let waiting = try (2..<4).map(open)
        try waitFor { try server.metric("rnn_active_streams{model=\"char\"}") == 4 }
        let refused = try server.request("POST", "/v1/generate", body: "{\"length\": 5}")
        XCTAssertEqual(refused.status, 429, refused.body)
        XCTAssertEqual(refused.headers["retry-after"], "1")
        XCTAssertTrue(refused.body.contains("max streams"), refused.body)
        // Waiting clients that leave free their places without ever getting a row.
        for c in waiting { c.close() }
        try waitFor { try server.metric("rnn_active_streams{model=\"char\"}") == 2 }
        for c in running { c.close() }
        try waitFor { try server.metric("rnn_active_streams{model=\"char\"}") == 0 }
        let again = try server.request("POST", "/v1/generate", body: "{\"length\": 5, \"stream\": false}")
        XCTAssertEqual(again.status, 200, again.body)
    }

    /// SIGTERM: a short stream finishes, a long one is cut within the grace period with an error
    /// event, new connections are refused, and the process exits 0.
    func testSIGTERMDrainsAndExitsZero() throws {
        let dir = try scratchFolder("sigterm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(["--checkpoint", Self.charModel, "--max-tokens", "100000000", "--shutdown-grace", "1"], in: dir)
        let long = try server.connect()
        try long.send("POST", "/v1/generate", body: "{\"length\": 100000000, \"seed\": 1}")
        XCTAssertEqual(try long.readHead().status, 200)
        XCTAssertNotNil(try long.readBodyPiece(chunked: true))
        let short = try server.connect()
        try short.send("POST", "/v1/generate", body: "{\"length\": 2000, \"seed\": 2}")
        XCTAssertEqual(try short.readHead().status, 200)
        kill(server.child.pid, SIGTERM)
        let start = Date()
        var shortBody: [UInt8] = []
        while let piece = try short.readBodyPiece(chunked: true) { shortBody += piece }
        XCTAssertEqual(streamedText(String(decoding: shortBody, as: UTF8.self)).count, 2000)
        var longBody: [UInt8] = []
        while let piece = try long.readBodyPiece(chunked: true) { longBody += piece }
        let events = serverSentEvents(String(decoding: longBody.suffix(4000), as: UTF8.self))
        XCTAssertEqual(events.last?.event, "error", String(decoding: longBody.suffix(300), as: UTF8.self))
        XCTAssertTrue(events.last?.data.contains("stopped") ?? false)
        let exit = server.child.wait(timeout: 20)
        XCTAssertEqual(exit?.status, 0, server.child.read(server.child.stderr))
        XCTAssertEqual(exit?.signaled, false)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertThrowsError(try server.connect())
        XCTAssertTrue(server.child.read(server.child.stdout).hasSuffix("rnn serve: stopped\n"))
    }

    /// Every path and method in docs/openapi.yaml is served (not 404 or 405), and every served
    /// path is there.
    func testOpenAPIDescribesTheRoutes() throws {
        let server = try server
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml")
        let lines = try String(contentsOf: spec, encoding: .utf8).split(separator: "\n")
        var routes: [(String, String)] = [], path: String?
        for line in lines {
            if line.hasPrefix("  /") && line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            if let p = path, ["    get:", "    post:"].contains(line) { routes.append((line.dropFirst(4).dropLast().uppercased(), p)) }
            if line == "components:" { path = nil }
        }
        XCTAssertEqual(Set(routes.map(\.1)), ["/v1/generate", "/v1/score", "/v1/predict", "/v1/models", "/health", "/metrics"])
        for (method, path) in routes {
            let r = try server.request(method, path, body: method == "POST" ? "{}" : nil)
            XCTAssertFalse([404, 405].contains(r.status) && !r.body.contains("\"field\": \"model\""), "\(method) \(path): \(r.body)")
        }
    }

    func waitFor(_ condition: () throws -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(10)
        while try !condition() {
            guard Date() < deadline else { return XCTFail("timed out", file: file, line: line) }
            usleep(10_000)
        }
    }
}
#endif
