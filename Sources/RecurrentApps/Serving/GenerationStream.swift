import Foundation

/// One request's characters as a `GenerationEngine` draws them.
///
/// Read it character by character (`for try await c in stream`) or in chunks (`nextChunk()`:
/// everything drawn since the last call, so a reader that falls behind catches up in one
/// wake-up and one write). One reader at a time. `cancel()`, cancelling the reading task, or
/// dropping every copy of the stream frees its row (or its place in the queue) before the
/// engine's next step.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = Character

    let queue: CharacterQueue
    private let handle: Handle

    /// - Parameter stop: frees the stream in the engine; called once, on the first of `cancel()`,
    ///   a cancelled reader or the last copy going away.
    init(queue: CharacterQueue, stop: @escaping @Sendable () -> Void) {
        self.queue = queue
        handle = Handle(stop)
    }

    /// Every character drawn since the last call (at least one: it waits for it); nil once the
    /// text is complete or the stream was cancelled.
    /// - Throws: what the engine ended the stream with (`RecurrentError.unavailable` when it was
    ///   cut while stopping; `.invalidArgument` when the model's output stopped being finite).
    public func nextChunk() async throws -> String? {
        try await queue.take { handle.stop() }
    }

    /// Ends the stream: reading finishes after the characters already drawn, and the engine
    /// frees its row before its next step. Safe to call at any time, more than once, from any thread.
    public func cancel() { handle.stop() }

    public func makeAsyncIterator() -> Iterator { Iterator(stream: self) }

    /// Reads the stream one character at a time, a chunk at a time underneath.
    public struct Iterator: AsyncIteratorProtocol {
        let stream: GenerationStream
        private var pending: [Character] = []   // the rest of the last chunk, reversed

        init(stream: GenerationStream) { self.stream = stream }

        public mutating func next() async throws -> Character? {
            if pending.isEmpty {
                guard let chunk = try await stream.nextChunk() else { return nil }
                pending = chunk.reversed()
            }
            return pending.popLast()
        }
    }

    /// Runs `stop` once: when asked, or when the last copy of the stream goes away.
    private final class Handle: @unchecked Sendable {
        private let lock = NSLock()
        private var action: (@Sendable () -> Void)?

        init(_ stop: @escaping @Sendable () -> Void) { action = stop }

        func stop() {
            let action = lock.withLock { () -> (@Sendable () -> Void)? in
                defer { self.action = nil }
                return self.action
            }
            action?()
        }

        deinit { stop() }
    }
}

/// The characters between the engine thread, which pushes them, and one reader, which takes
/// all that have arrived at once.
final class CharacterQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    /// How the stream ended: nil while it runs; nil inside for a complete text.
    private var end: (any Error)??
    private var waiter: CheckedContinuation<Void, Never>?
    private var readerCancelled = false

    /// Appends a character and wakes the reader.
    func push(_ c: Character) {
        let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            buffer.append(c)
            return takeWaiter()
        }
        waiter?.resume()
    }

    /// Ends the stream after what it holds: complete, or with `error`. Only the first call counts.
    func finish(throwing error: (any Error)? = nil) {
        let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if end == nil { end = .some(error) }
            return takeWaiter()
        }
        waiter?.resume()
    }

    private func takeWaiter() -> CheckedContinuation<Void, Never>? {
        defer { waiter = nil }
        return waiter
    }

    /// Everything pushed since the last call, waiting until there is something; nil at the end.
    /// - Parameter cancelled: called when the reading task is cancelled while it waits.
    func take(cancelled: () -> Void) async throws -> String? {
        while true {
            let (text, ended, error, stop) = lock.withLock { () -> (String, Bool, (any Error)?, Bool) in
                let text = buffer
                buffer = ""
                return (text, end != nil, end ?? nil, readerCancelled)
            }
            if !text.isEmpty { return text }
            if let error { throw error }
            if ended { return nil }
            if stop || Task.isCancelled {
                cancelled()
                return nil
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = lock.withLock { () -> Bool in
                        if !buffer.isEmpty || end != nil || readerCancelled { return true }
                        waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                let waiter = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                    readerCancelled = true
                    return takeWaiter()
                }
                waiter?.resume()
            }
        }
    }
}
