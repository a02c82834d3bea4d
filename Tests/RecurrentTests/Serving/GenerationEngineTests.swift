import CRecurrentKernels
import Recurrent
@testable import RecurrentApps
import XCTest

/// The continuous-batching engine: each stream's text is `CharLanguageModel.sample`'s for the
/// same seed, whatever else runs beside it; rows are freed and reused; limits and stopping.
final class GenerationEngineTests: XCTestCase, KernelPathTesting {
    static let text = "the quick brown fox jumps over the lazy dog.\n"

    func model(_ cell: CellKind = .lstm, hidden: Int = 48, layers: Int = 2, projected: Int? = nil) throws -> CharLanguageModel {
        let config = CharModelConfiguration(cell: cell, vocabulary: Vocabulary(text: Self.text), embeddingSize: 12,
                                            hiddenSize: hidden, layers: layers, projectedSize: projected)
        return try CharLanguageModel(configuration: config, seed: 11)
    }

    func sample(_ model: CharLanguageModel, _ r: GenerationRequest, precision: InferencePrecision = .fp32) throws -> String {
        var s = ""
        try model.sample(length: r.length, temperature: r.temperature, topK: r.topK, prime: r.prime, seed: r.seed,
                         precision: precision) { s.append($0) }
        return s
    }

    /// Stream i's request: primes, lengths, temperatures and top-k that differ, so streams read
    /// their primes while others generate, and leave at different steps.
    func request(_ i: Int) -> GenerationRequest {
        let primes = ["", "the ", "a", "quick brown fox ", "dog.\n", "z"]
        return GenerationRequest(prime: primes[i % primes.count], length: 5 + (i * 7) % 31,
                                 temperature: [1, 0.7, 1.3][i % 3], topK: i % 4 == 1 ? 3 : nil, seed: UInt64(100 + i))
    }

    /// A task that collects `stream`.
    static func spawn(_ stream: GenerationStream) -> Task<String, any Error> {
        Task { try await collect(stream) }
    }

    static func collect(_ stream: GenerationStream) async throws -> String {
        var s = ""
        for try await c in stream { s.append(c) }
        return s
    }

    /// A stream's text equals `sample`'s alone and beside 1, 7 and 63 others that join before and
    /// after it (while it reads its prime and while it generates) and leave at other steps; every
    /// companion's text equals its own `sample` too.
    func testStreamsEqualSampleWhateverRunsBeside() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 64))
        let target = GenerationRequest(prime: "the lazy ", length: 60, temperature: 0.9, topK: 5, seed: 7)
        let expected = try sample(model, target)
        XCTAssertEqual(expected.count, 60)
        for others in [0, 1, 7, 63] {
            let before = others / 2
            var companions: [(Int, Task<String, any Error>)] = []
            for i in 0..<before {
                let s = try engine.generate(request(i))
                companions.append((i, Self.spawn(s)))
            }
            var text = ""
            var joinedAfter = false
            for try await c in try engine.generate(target) {
                text.append(c)
                if text.count == 3 && !joinedAfter {
                    joinedAfter = true
                    for i in before..<others {
                        let s = try engine.generate(request(i))
                        companions.append((i, Self.spawn(s)))
                    }
                }
            }
            XCTAssertEqual(text, expected, "beside \(others) others")
            for (i, task) in companions {
                let got = try await task.value
                XCTAssertEqual(got, try sample(model, request(i)), "companion \(i) of \(others)")
            }
        }
        await engine.stop()
    }

    /// Streams 0..<n started together on an engine of n rows: each gets `sample(precision:)`'s text.
    func expectSampleTexts(_ model: CharLanguageModel, precision: InferencePrecision, streams n: Int, _ label: String,
                           file: StaticString = #filePath, line: UInt = #line) async throws {
        let engine = try GenerationEngine(model: model, precision: precision, limits: GenerationLimits(maxBatch: n))
        let tasks = try (0..<n).map { Self.spawn(try engine.generate(request($0))) }
        for (i, task) in tasks.enumerated() {
            let got = try await task.value
            XCTAssertEqual(got, try sample(model, request(i), precision: precision), "\(label) \(precision) stream \(i)",
                           file: file, line: line)
        }
        await engine.stop()
    }

    /// The same for GRU, an LSTM with projections, a single-layer vanilla RNN and every precision:
    /// each stream beside 7 others gets `sample(precision:)`'s text.
    func testEveryCellAndPrecisionKeepsRowsIndependent() async throws {
        let cases: [(CellKind, Int, Int?, InferencePrecision)] = [
            (.gru, 2, nil, .fp32), (.lstm, 2, 24, .fp32), (.rnnTanh, 1, nil, .fp32), (.lngru, 2, nil, .fp32),
            (.lstm, 2, nil, .bf16), (.lstm, 2, nil, .int8), (.lstm, 2, nil, .w8a8), (.gru, 2, nil, .int8),
        ]
        for (cell, layers, projected, precision) in cases {
            try await expectSampleTexts(try model(cell, layers: layers, projected: projected), precision: precision, streams: 8,
                                        cell.rawValue)
        }
    }

    /// Rows large enough for the kernels to split products over two threads keep their bits.
    func testWideModelOnTwoThreads() async throws {
        let original = GEMM.threads
        defer { GEMM.threads = original }
        GEMM.threads = 2
        let model = try model(.lstm, hidden: 256)
        for precision in [InferencePrecision.fp32, .int8] {
            try await expectSampleTexts(model, precision: precision, streams: 16, "hidden 256, 2 threads")
        }
    }

    /// On every ISA path this CPU has (portable C, AVX2, AVX-512) and every precision, streams
    /// beside each other get the text `sample` gives on that path.
    func testEveryKernelPathKeepsRowsIndependent() async throws {
        let original = rk_active_isa()
        defer { XCTAssertEqual(rk_set_isa(original), 0) }
        let model = try model(.lstm, hidden: 40)
        for isa in Self.paths {
            XCTAssertEqual(rk_set_isa(isa), 0)
            for precision in InferencePrecision.allCases {
                try await expectSampleTexts(model, precision: precision, streams: 6, "isa \(isa)")
            }
        }
    }

    /// More streams than rows: the rest wait and join as rows free, and still get their text.
    func testWaitingStreamsJoinAsRowsFree() async throws {
        let model = try model(.gru, hidden: 32)
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 3, maxStreams: 20))
        let tasks = try (0..<12).map { i in
            let s = try engine.generate(request(i))
            return Self.spawn(s)
        }
        for (i, task) in tasks.enumerated() {
            let got = try await task.value
            XCTAssertEqual(got, try sample(model, request(i)), "stream \(i)")
        }
        XCTAssertEqual(engine.activeStreams, 0)
        await engine.stop()
    }

    /// A stream whose reader stops iterating leaves before the next steps, and its row is used again.
    func testCancelledStreamFreesItsRow() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 1, maxStreams: 1, maxTokens: 100_000))
        var read = 0
        for try await _ in try engine.generate(GenerationRequest(length: 100_000, seed: 1)) {
            read += 1
            if read == 5 { break }
        }
        try await waitUntil { engine.activeStreams == 0 }
        // The one row and the one admission are free again: a new stream runs and is exact.
        let r = request(3)
        let got = try await Self.collect(try engine.generate(r))
        XCTAssertEqual(got, try sample(model, r))
        // A task cancelled while it waits on the stream frees it too.
        let long = try engine.generate(GenerationRequest(length: 100_000, seed: 2))
        let task = Self.spawn(long)
        try await waitUntil { engine.activeStreams == 1 }
        task.cancel()
        _ = try? await task.value
        try await waitUntil { engine.activeStreams == 0 }
        // `cancel()` frees a running stream and one that waits for a row, and ends their iterations.
        let running = try engine.generate(GenerationRequest(length: 100_000, seed: 3))
        try await waitUntil { engine.activeStreams == 1 }
        XCTAssertThrowsError(try engine.generate(GenerationRequest(length: 5))) // max streams 1
        running.cancel()
        let rest = try await Self.collect(running)
        XCTAssertLessThan(rest.count, 100_000)
        try await waitUntil { engine.activeStreams == 0 }
        await engine.stop()
    }

    /// Out-of-range fields and unknown characters are refused with the field's name; a stream
    /// beyond `maxStreams` is refused as retryable; a stopping engine refuses for good.
    func testLimitsAndBadRequests() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 2, maxStreams: 2, maxTokens: 50, maxPrime: 10))
        func field(_ r: GenerationRequest) -> String? {
            do {
                _ = try engine.generate(r)
                return nil
            } catch let RecurrentError.invalidArgument(name, _, _) {
                return name
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(field(GenerationRequest(length: 51)), "length")
        XCTAssertEqual(field(GenerationRequest(length: -1)), "length")
        XCTAssertEqual(field(GenerationRequest(length: 5, temperature: 0)), "temperature")
        XCTAssertEqual(field(GenerationRequest(length: 5, temperature: .nan)), "temperature")
        XCTAssertEqual(field(GenerationRequest(length: 5, topK: 0)), "top_k")
        XCTAssertEqual(field(GenerationRequest(prime: "the quick brown", length: 5)), "prime")
        XCTAssertEqual(field(GenerationRequest(prime: "THE", length: 5)), "prime")
        let a = try engine.generate(GenerationRequest(length: 50, seed: 1))
        let b = try engine.generate(GenerationRequest(length: 50, seed: 2))
        XCTAssertThrowsError(try engine.generate(GenerationRequest(length: 5))) { error in
            guard case RecurrentError.unavailable(_, _, true)? = error as? RecurrentError else { return XCTFail("\(error)") }
        }
        _ = try await (Self.collect(a), Self.collect(b))
        try await waitUntil { engine.activeStreams == 0 }
        let empty = try await Self.collect(try engine.generate(GenerationRequest(length: 0)))
        XCTAssertEqual(empty, "")
        await engine.stop()
        XCTAssertThrowsError(try engine.generate(GenerationRequest(length: 5))) { error in
            guard case RecurrentError.unavailable(_, _, false)? = error as? RecurrentError else { return XCTFail("\(error)") }
        }
    }

    /// A reader that falls behind gets what was drawn meanwhile in one chunk, and the chunks
    /// make `sample`'s text; a stream dropped unread frees its row.
    func testChunksAndDroppedStreams() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 2, maxTokens: 100_000))
        let r = GenerationRequest(prime: "the ", length: 40, seed: 9)
        let stream = try engine.generate(r)
        try await waitUntil { engine.activeStreams == 0 }   // all 40 drawn, none read yet
        var chunks: [String] = []
        while let chunk = try await stream.nextChunk() { chunks.append(chunk) }
        XCTAssertEqual(chunks, [try sample(model, r)])
        _ = try engine.generate(GenerationRequest(length: 100_000, seed: 1))
        try await waitUntil { engine.activeStreams == 0 }
        await engine.stop()
    }

    /// A stream cancelled while it waits for a row leaves the queue without ever running.
    func testCancelWhileWaiting() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 1, maxStreams: 3, maxTokens: 100_000))
        let running = try engine.generate(GenerationRequest(length: 100_000, seed: 1))
        let waiting = try engine.generate(GenerationRequest(length: 100_000, seed: 2))
        try await waitUntil { engine.activeStreams == 2 }
        waiting.cancel()
        try await waitUntil { engine.activeStreams == 1 }
        let got = try await Self.collect(waiting)
        XCTAssertEqual(got, "")
        running.cancel()
        try await waitUntil { engine.activeStreams == 0 }
        await engine.stop()
    }

    /// Stopping lets short streams finish within the grace period and cuts the rest with an error.
    func testStopFinishesThenCuts() async throws {
        let model = try model()
        let engine = try GenerationEngine(model: model, limits: GenerationLimits(maxBatch: 4, maxTokens: 10_000_000))
        let short = try engine.generate(GenerationRequest(length: 20, seed: 1))
        let long = try engine.generate(GenerationRequest(length: 10_000_000, seed: 2))
        let shortTask = Self.spawn(short)
        let longTask = Self.spawn(long)
        await engine.stop(gracePeriod: .milliseconds(300))
        let finished = try await shortTask.value
        XCTAssertEqual(finished, try sample(model, GenerationRequest(length: 20, seed: 1)))
        do {
            _ = try await longTask.value
            XCTFail("a ten-million-character stream finished within the grace period")
        } catch let RecurrentError.unavailable(_, reason, _) {
            XCTAssertTrue(reason.contains("stopped"), reason)
        }
        XCTAssertEqual(engine.activeStreams, 0)
    }

    func waitUntil(_ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { return XCTFail("timed out", file: file, line: line) }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
