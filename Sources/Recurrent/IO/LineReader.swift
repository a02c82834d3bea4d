import Foundation

/// Reading a text file's lines as bytes, a chunk at a time: memory stays bounded by the chunk
/// and the longest line, never the whole file. A line ends at "\n"; a "\r" before it is dropped
/// (Windows line ends), a UTF-8 byte order mark at the start of the file is dropped, and a last
/// line without "\n" is still a line. Lines are numbered from 1, so a number points into the file
/// as an editor shows it.
enum LineReader {
    /// Calls `body` with each line of the file at `path` ("-": standard input), without its line
    /// end, and its number.
    /// - Parameter chunkSize: bytes read at a time; the buffer grows past it only for a longer line.
    /// - Returns: the file's size in bytes.
    /// - Throws: `RecurrentError.io` for a missing, unreadable or directory path, and whatever
    ///   `body` throws.
    @discardableResult
    static func forEachLine(path: String, chunkSize: Int = 1 << 20,
                            _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Int {
        let (fd, owned) = try openForReading(path, expected: "a text file")
        defer { if owned { close(fd) } }
        var capacity = max(chunkSize, 16)
        var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var filled = 0, total = 0, line = 1
        while true {
            let n = read(fd, buffer + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw RecurrentError.io(path: path, reason: "cannot be read (\(systemReason(errno)))")
            }
            filled += n
            total += n
            let used = try splitLines(UnsafeBufferPointer(start: buffer, count: filled), atEnd: n == 0, line: &line, body)
            if n == 0 { return total }
            // The unfinished last line moves to the front; a line longer than the buffer grows it.
            filled -= used
            if used > 0 {
                memmove(buffer, buffer + used, filled)
            } else if filled == capacity {
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                grown.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = grown
                capacity *= 2
            }
        }
    }

    /// Calls `body` with each line of `bytes`, the whole of a file's contents.
    static func forEachLine(in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) rethrows {
        var line = 1
        _ = try splitLines(bytes, atEnd: true, line: &line, body)
    }

    /// Calls `body` with each complete line of `bytes`, numbering from `line`; at the end of the
    /// file the rest is a line too when it is not empty.
    /// - Returns: the bytes consumed (up to and including the last "\n" when not `atEnd`).
    private static func splitLines(_ bytes: UnsafeBufferPointer<UInt8>, atEnd: Bool, line: inout Int,
                                   _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) rethrows -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var start = 0
        while start < bytes.count {
            let newline = memchr(base + start, 0x0A, bytes.count - start)
            guard let newline else {
                if atEnd { try emit(base + start, bytes.count - start, line, body) }
                return atEnd ? bytes.count : start
            }
            let end = UnsafeRawPointer(newline).assumingMemoryBound(to: UInt8.self) - base
            try emit(base + start, end - start, line, body)
            line += 1
            start = end + 1
        }
        return start
    }

    /// One line to `body`, without its "\r" and, on line 1, without a byte order mark.
    private static func emit(_ start: UnsafePointer<UInt8>, _ count: Int, _ line: Int,
                             _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) rethrows {
        var start = start, count = count
        if count > 0 && start[count - 1] == 0x0D { count -= 1 }
        if line == 1 && count >= 3 && start[0] == 0xEF && start[1] == 0xBB && start[2] == 0xBF {
            start += 3
            count -= 3
        }
        try body(UnsafeBufferPointer(start: start, count: count), line)
    }
}
