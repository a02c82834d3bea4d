#if Server
import Foundation
import Hummingbird
import NIOCore
import RecurrentApps

/// The request context of `rnn serve`: Hummingbird's basic one and the request's connection.
struct ServeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Cancels a connection's generation streams when the connection closes, so a client that
/// disconnects frees its row — or its place in the queue, where no write would notice it — at
/// once. One close callback per connection, however many requests it carries.
final class ConnectionWatch: @unchecked Sendable {
    private let lock = NSLock()
    /// Open connections that carried a stream → their unfinished streams by key.
    private var streams: [ObjectIdentifier: [Int: GenerationStream]] = [:]
    private var nextKey = 0

    /// Cancels `stream` if `channel` closes before the returned function is called.
    func watch(_ stream: GenerationStream, on channel: any Channel) -> @Sendable () -> Void {
        let id = ObjectIdentifier(channel)
        let (key, first) = lock.withLock { () -> (Int, Bool) in
            nextKey += 1
            let first = streams[id] == nil
            streams[id, default: [:]][nextKey] = stream
            return (nextKey, first)
        }
        if first {
            channel.closeFuture.whenComplete { [self] _ in
                let open = lock.withLock { streams.removeValue(forKey: id) }
                open?.values.forEach { $0.cancel() }
            }
        }
        return { [self] in lock.withLock { _ = streams[id]?.removeValue(forKey: key) } }
    }
}
#endif
