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
    /// except `cancelled` and `released`, which are read and written under the engine's lock.
    private final class Stream: @unchecked Sendable {
        let primeIds: [Int32]
        var read = 0                   // prime tokens read so far
        var input: Int32               // the token the next step reads
        var sampler: TokenSampler
        var remaining: Int             // characters still to generate
        var generated = 0
        let queue: CharacterQueue
        var cancelled = false
        var released = false           // its admission given back (under the lock, as `cancelled`)

        init(primeIds: [Int32], request: GenerationRequest, vocabulary: Int, queue: CharacterQueue) {
            self.primeIds = primeIds
            input = primeIds[0]
            sampler = TokenSampler(vocabulary: vocabulary, temperature: request.temperature, topK: request.topK, seed: request.seed)
            remaining = request.length
            self.queue = queue
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
    /// engine cuts it while stopping, and frees its row once the caller cancels it, its reading
    /// task is cancelled, or it is dropped.
    /// - Throws: `RecurrentError.invalidArgument` naming the field (`prime`, `length`,
    ///   `temperature`, `top_k`) for a value out of range or a prime character outside the
    ///   vocabulary; `RecurrentError.unavailable` when `maxStreams` streams are active
    ///   (`retryLater`) or the engine is stopping.
    public func generate(_ request: GenerationRequest) throws -> GenerationStream {
        let primeIds = try validate(request)
        let queue = CharacterQueue()
        guard request.length > 0 else {
            queue.finish()
            return GenerationStream(queue: queue) {}
        }
        let s = Stream(primeIds: primeIds, request: request, vocabulary: model.configuration.vocabulary.count, queue: queue)
        try locked {
            guard !stopping else {
                throw RecurrentError.unavailable(what: "generation", reason: "the engine is stopping", retryLater: false)
            }
            guard admitted < limits.maxStreams else {
                throw RecurrentError.unavailable(what: "generation", reason: "all \(limits.maxStreams) streams are in use (max streams)",
                                                 retryLater: true)
            }
            admitted += 1
            incoming.append(s)
        }
        return GenerationStream(queue: queue) { [weak self, weak s] in
            guard let self, let s else { return }
            // The admission is given back at once, so a reader that sees its end can start another
            // stream straight away; the row follows before the next step.
            self.locked {
                s.cancelled = true
                self.cancellations += 1
                self.release(s)
            }
            s.queue.finish()
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
                locked { admitted = 0 }
                for s in rows + waiting[waitingStart...] {
                    s.queue.finish(throwing: RecurrentError.unavailable(
                        what: "generation", reason: "the engine stopped before the text was finished", retryLater: false))
                }
                locked { running = false }
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

    /// Drops `indices` from the rows (streams cancelled, or finished by `step`, which ends their
    /// queues only after this: a reader that sees its end can start another stream at once).
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
        locked { streams.forEach(release) }
    }

    /// Gives back `s`'s admission, once; under the lock.
    private func release(_ s: Stream) {
        guard !s.released else { return }
        s.released = true
        admitted -= 1
    }

    /// One batched step: every row reads its token, rows past their prime draw the next one.
    private func step() {
        let start = DispatchTime.now().uptimeNanoseconds
        let b = rows.count
        for r in 0..<b { ids[r] = rows[r].input }
        var finished: [(row: Int, error: (any Error)?)] = []
        var tokens = 0
        do {
            try stepper.step(ids, state: &state)
        } catch {
            // Only a state of another stack throws here: a bug, not a request's fault.
            let all = rows
            remove(rows: Array(rows.indices))
            for s in all { s.queue.finish(throwing: error) }
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
                finished.append((r, TokenSampler.notFinite(at: s.generated + 1)))
                continue
            }
            tokens += 1
            s.generated += 1
            s.remaining -= 1
            s.input = next
            s.queue.push(Character(model.configuration.vocabulary.symbol(next)))
            if s.remaining == 0 {
                finished.append((r, nil))
            }
        }
        if !finished.isEmpty {
            let streams = finished.map { rows[$0.row] }
            remove(rows: finished.map(\.row))
            for (s, f) in zip(streams, finished) { s.queue.finish(throwing: f.error) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        observer?(GenerationStepReport(rows: b, tokens: tokens, seconds: seconds))
    }
}
