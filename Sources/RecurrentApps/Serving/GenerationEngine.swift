import Foundation
import Recurrent

/// Continuous batching for a character model: every active stream's next token in one batched
/// step, streams admitted and retired between steps.
///
/// A stream is a row of the step. Each step reads one token per row — the next character of
/// its prime while it is still reading it, then the character it drew last — and each row that
/// has read its whole prime draws its next character from its own logits with its own seeded
/// `TokenSampler`. Rows are independent (`TokenStepper.step(_:state:)`: every kernel computes a
/// row the same whatever the row count), and a stream draws exactly the uniform numbers
/// `CharLanguageModel.sample` draws, in the same order, so a stream's text is `sample`'s for the
/// same seed, prime, temperature, top-k and precision, whatever else the engine is running.
///
/// The steps run on the engine's own thread, which sleeps while there is nothing to do.
/// `generate` returns the characters as a `GenerationStream`; ending the iteration or calling
/// `cancel()` (a client that disconnects) frees the row before the next step. Between steps the engine admits
/// waiting streams, first come first served, up to `GenerationLimits.maxBatch` rows; a request
/// beyond `maxStreams` is refused at once.
public final class GenerationEngine: @unchecked Sendable {
    /// The model; read-only while the engine runs.
    public let model: CharLanguageModel
    public let precision: InferencePrecision
    public let limits: GenerationLimits

    /// One request's row: its sampler and its place in the prime, owned by the engine thread
    /// except `cancelled`, which is read and written under the engine's lock.
    private final class Stream: @unchecked Sendable {
        let primeIds: [Int32]
        var read = 0                   // prime tokens read so far
        var input: Int32               // the token the next step reads
        var sampler: TokenSampler
        var remaining: Int             // characters still to generate
        var generated = 0
        let continuation: AsyncThrowingStream<Character, any Error>.Continuation
        var cancelled = false

        init(primeIds: [Int32], request: GenerationRequest, vocabulary: Int,
             continuation: AsyncThrowingStream<Character, any Error>.Continuation) {
            self.primeIds = primeIds
            input = primeIds[0]
            sampler = TokenSampler(vocabulary: vocabulary, temperature: request.temperature, topK: request.topK, seed: request.seed)
            remaining = request.length
            self.continuation = continuation
        }
    }

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var incoming: [Stream] = []
    private var admitted = 0
    private var stopping = false
    private var cutting = false
    private var running = true
    private var cancellations = 0

    // The engine thread's own:
    private let stepper: TokenStepper
    private var rows: [Stream] = []
    private var waiting: [Stream] = []
    private var waitingStart = 0
    private var state: RecurrentState
    private let ids: UnsafeMutablePointer<Int32>
    private let observer: (@Sendable (GenerationStepReport) -> Void)?

    /// Starts the engine's thread.
    /// - Parameters:
    ///   - precision: how the weights are stored, as `sample(precision:)` takes it.
    ///   - observer: called on the engine thread after every step (metrics); it must be quick.
    /// - Throws: `RecurrentError.invalidArgument` for a limit out of range or a weight that is not
    ///   finite (narrow precisions).
    public init(model: CharLanguageModel, precision: InferencePrecision = .fp32, limits: GenerationLimits = GenerationLimits(),
                observer: (@Sendable (GenerationStepReport) -> Void)? = nil) throws {
        try limits.validate()
        self.model = model
        self.precision = precision
        self.limits = limits
        self.observer = observer
        stepper = try TokenStepper(model, precision: precision, capacity: limits.maxBatch)
        state = RecurrentState(stack: model.model.stack, batch: 0)
        ids = .allocate(capacity: limits.maxBatch)
        ids.initialize(repeating: 0, count: limits.maxBatch)
        let thread = Thread { [self] in run() }
        thread.name = "rnn generation engine"
        thread.start()
    }

    deinit { ids.deallocate() }

    /// Streams admitted and not yet finished: generating, or waiting for a row.
    public var activeStreams: Int { locked { admitted } }

    /// Starts generating `request`'s characters; they arrive as they are drawn. The stream
    /// finishes after `length` characters, throws if the model's output stops being finite or the
    /// engine cuts it while stopping, and frees its row once the caller stops iterating.
    /// - Throws: `RecurrentError.invalidArgument` naming the field (`prime`, `length`,
    ///   `temperature`, `top_k`) for a value out of range or a prime character outside the
    ///   vocabulary; `RecurrentError.unavailable` when `maxStreams` streams are active
    ///   (`retryLater`) or the engine is stopping.
    public func generate(_ request: GenerationRequest) throws -> GenerationStream {
        let primeIds = try validate(request)
        let (stream, continuation) = AsyncThrowingStream<Character, any Error>.makeStream()
        guard request.length > 0 else {
            continuation.finish()
            return GenerationStream(characters: stream) {}
        }
        let s = Stream(primeIds: primeIds, request: request, vocabulary: model.configuration.vocabulary.count,
                       continuation: continuation)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else {
            throw RecurrentError.unavailable(what: "generation", reason: "the engine is stopping", retryLater: false)
        }
        guard admitted < limits.maxStreams else {
            throw RecurrentError.unavailable(what: "generation", reason: "all \(limits.maxStreams) streams are in use (max streams)",
                                             retryLater: true)
        }
        admitted += 1
        incoming.append(s)
        continuation.onTermination = { [weak self, weak s] termination in
            guard case .cancelled = termination, let self, let s else { return }
            self.cancel(s)
        }
        condition.signal()
        return GenerationStream(characters: stream) { [weak self, weak s] in
            guard let self, let s else { return }
            self.cancel(s)
            s.continuation.finish()
        }
    }

    /// Marks `s` to leave before the next step (a no-op once it has left).
    private func cancel(_ s: Stream) {
        locked {
            s.cancelled = true
            cancellations += 1
        }
    }

    /// Stops the engine: no new stream is admitted; streams still running after `gracePeriod`
    /// are cut (their iteration throws `RecurrentError.unavailable`); returns once the engine
    /// thread has ended.
    public func stop(gracePeriod: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + gracePeriod
        locked { stopping = true }
        while ContinuousClock.now < deadline && activeStreams > 0 {
            try? await Task.sleep(for: .milliseconds(5))
        }
        locked { cutting = true }
        while locked({ running }) { try? await Task.sleep(for: .milliseconds(2)) }
    }

    /// `body` under the engine's lock, waking the engine thread.
    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer {
            condition.signal()
            condition.unlock()
        }
        return try body()
    }

    /// The prime's tokens, after checking every field against the model and the limits.
    private func validate(_ r: GenerationRequest) throws -> [Int32] {
        try require(r.length >= 0 && r.length <= limits.maxTokens,
                    .invalidArgument(name: "length", value: "\(r.length)", expected: "0...\(limits.maxTokens) (max tokens)"))
        try require(r.temperature > 0 && r.temperature.isFinite,
                    .invalidArgument(name: "temperature", value: "\(r.temperature)", expected: "a positive number"))
        if let k = r.topK { try require(k >= 1, .invalidArgument(name: "top_k", value: "\(k)", expected: "at least 1")) }
        let count = r.prime.unicodeScalars.count
        try require(count <= limits.maxPrime,
                    .invalidArgument(name: "prime", value: "\(count) characters", expected: "at most \(limits.maxPrime) (max prime)"))
        do {
            return try model.primeIds(r.prime)
        } catch let RecurrentError.invalidArgument(name, value, expected) {
            throw RecurrentError.invalidArgument(name: "prime", value: value, expected: "\(expected) (\(name))")
        }
    }

    // MARK: The engine thread

    private func run() {
        while true {
            condition.lock()
            while incoming.isEmpty && rows.isEmpty && waitingStart == waiting.count && !cutting { condition.wait() }
            waiting += incoming
            incoming.removeAll(keepingCapacity: true)
            let cut = cutting
            let cancelled = cancellations > 0 ? rows.indices.filter { rows[$0].cancelled } : []
            let waitingCancelled = cancellations > 0 && waiting[waitingStart...].contains { $0.cancelled }
            cancellations = 0
            condition.unlock()
            if cut {
                for s in rows + waiting[waitingStart...] {
                    s.continuation.finish(throwing: RecurrentError.unavailable(
                        what: "generation", reason: "the engine stopped before the text was finished", retryLater: false))
                }
                condition.lock()
                admitted = 0
                running = false
                condition.unlock()
                return
            }
            if waitingCancelled {
                retire(waiting[waitingStart...].filter(\.cancelled))
                waiting = Array(waiting[waitingStart...].filter { !$0.cancelled })
                waitingStart = 0
            }
            if !cancelled.isEmpty { remove(rows: cancelled) }
            admit()
            if !rows.isEmpty { step() }
        }
    }

    /// Moves waiting streams into free rows, each starting from a zero state.
    private func admit() {
        let free = limits.maxBatch - rows.count
        guard free > 0 && waitingStart < waiting.count else { return }
        let joining = waiting[waitingStart..<min(waiting.count, waitingStart + free)]
        waitingStart += joining.count
        if waitingStart == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingStart = 0
        }
        relayout(keeping: Array(rows.indices), adding: joining.count)
        rows += joining
    }

    /// Drops `indices` from the rows (their streams already finished or cancelled).
    private func remove(rows indices: [Int]) {
        let gone = Set(indices)
        retire(indices.map { rows[$0] })
        let kept = rows.indices.filter { !gone.contains($0) }
        relayout(keeping: kept, adding: 0)
        rows = kept.map { rows[$0] }
    }

    /// The state (L, B', S) of rows `kept` of the current one, in that order, then `adding` zero rows.
    private func relayout(keeping kept: [Int], adding: Int) {
        let old = state
        var next = RecurrentState(stack: model.model.stack, batch: kept.count + adding)
        let s = old.stateSize
        for l in 0..<old.layers {
            for (to, from) in kept.enumerated() {
                let (a, b) = ((l * next.batch + to) * s, (l * old.batch + from) * s)
                next.values.replaceSubrange(a..<(a + s), with: old.values[b..<(b + s)])
            }
        }
        state = next
    }

    /// Gives back the admission of streams that leave.
    private func retire(_ streams: some Collection<Stream>) {
        guard !streams.isEmpty else { return }
        condition.lock()
        admitted -= streams.count
        condition.unlock()
    }

    /// One batched step: every row reads its token, rows past their prime draw the next one.
    private func step() {
        let start = DispatchTime.now().uptimeNanoseconds
        let b = rows.count
        for r in 0..<b { ids[r] = rows[r].input }
        var finished: [Int] = []
        var tokens = 0
        do {
            try stepper.step(ids, state: &state)
        } catch {
            // Only a state of another stack throws here: a bug, not a request's fault.
            for s in rows { s.continuation.finish(throwing: error) }
            remove(rows: Array(rows.indices))
            return
        }
        let v = model.configuration.vocabulary.count
        for r in 0..<b {
            let s = rows[r]
            if s.read < s.primeIds.count - 1 {
                s.read += 1
                s.input = s.primeIds[s.read]
                continue
            }
            s.read = s.primeIds.count
            guard let next = s.sampler.next(stepper.logits + r * v) else {
                s.continuation.finish(throwing: TokenSampler.notFinite(at: s.generated + 1))
                finished.append(r)
                continue
            }
            tokens += 1
            s.generated += 1
            s.remaining -= 1
            s.input = next
            s.continuation.yield(Character(model.configuration.vocabulary.symbol(next)))
            if s.remaining == 0 {
                s.continuation.finish()
                finished.append(r)
            }
        }
        if !finished.isEmpty { remove(rows: finished) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        observer?(GenerationStepReport(rows: b, tokens: tokens, seconds: seconds))
    }
}

/// One request's characters as the engine draws them; `cancel()` ends it early.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = Character
    /// The characters; the iteration throws if the engine cuts the stream (stopping) or the
    /// model's output stops being finite.
    public let characters: AsyncThrowingStream<Character, any Error>
    private let stop: @Sendable () -> Void

    init(characters: AsyncThrowingStream<Character, any Error>, stop: @escaping @Sendable () -> Void) {
        self.characters = characters
        self.stop = stop
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<Character, any Error>.AsyncIterator { characters.makeAsyncIterator() }

    /// Ends the stream — its iteration finishes after the characters already drawn — and frees
    /// its row, or its place in the queue, before the engine's next step. Safe to call at any
    /// time, more than once, from any thread.
    public func cancel() { stop() }
}
