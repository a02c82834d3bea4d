#if Server
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The built `rnn` beside the test bundle, which Linux runs as the process itself (these tests
/// use Glibc's sockets and posix_spawn: Linux only).
let rnnBinary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("rnn")

/// A scratch folder inside the build folder (so inside the repository), removed by `remove()`.
func scratchFolder(_ name: String) throws -> String {
    let dir = rnnBinary.deletingLastPathComponent().appendingPathComponent("server-tests-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A child `rnn` process, its standard output and error going to files.
final class Child {
    let pid: pid_t
    let stdout: String
    let stderr: String

    init(_ arguments: [String], in dir: String) throws {
        stdout = dir + "/stdout-\(UUID().uuidString)"
        stderr = dir + "/stderr-\(UUID().uuidString)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([rnnBinary.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, rnnBinary.path, &actions, nil, argv, environ)
        guard status == 0 else { throw NSError(domain: NSPOSIXErrorDomain, code: Int(status)) }
        self.pid = pid
    }

    func read(_ path: String) -> String { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }

    /// Waits for the child: its exit status, or the signal that ended it; nil after `timeout` seconds.
    func wait(timeout: Double = 30) -> (status: Int32, signaled: Bool)? {
        let deadline = Date().addingTimeInterval(timeout)
        var raw: Int32 = 0
        while Date() < deadline {
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid {
                let signal = raw & 0x7F
                return signal == 0 ? ((raw >> 8) & 0xFF, false) : (signal, true)
            }
            usleep(10_000)
        }
        return nil
    }

    /// Runs `rnn arguments` to its end: status and standard output.
    static func run(_ arguments: [String], in dir: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try Child(arguments, in: dir)
        let status = child.wait(timeout: 120)?.status ?? -1
        return (status, child.read(child.stdout), child.read(child.stderr))
    }
}

/// `rnn serve` on 127.0.0.1, any free port.
final class ServerProcess {
    let child: Child
    let port: UInt16

    init(_ arguments: [String], in dir: String) throws {
        child = try Child(["serve", "--port", "0"] + arguments, in: dir)
        let deadline = Date().addingTimeInterval(60)
        var port: UInt16?
        while port == nil && Date() < deadline {
            let out = child.read(child.stdout)
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("rnn serve: listening on ") }),
               let p = line.split(separator: ":").last.flatMap({ UInt16($0) }) {
                port = p
            } else {
                guard child.wait(timeout: 0.02) == nil else { break }
            }
        }
        guard let port else {
            Glibc.kill(child.pid, SIGKILL)
            throw NSError(domain: "rnn serve did not start: \(child.read(child.stderr))", code: 1)
        }
        self.port = port
    }

    /// Stops the server at once (tests that do not test shutdown).
    func kill() {
        Glibc.kill(child.pid, SIGKILL)
        _ = child.wait(timeout: 10)
    }

    func connect() throws -> Connection { try Connection(port: port) }

    /// One request: its status, headers (lowercased names) and body (de-chunked).
    func request(_ method: String, _ path: String, body: String? = nil, headers: [String] = [])
        throws -> (status: Int, headers: [String: String], body: String) {
        let c = try connect()
        defer { c.close() }
        try c.send(method, path, body: body, headers: headers)
        return try c.readResponse()
    }

    /// `body` of a JSON answer, parsed.
    func json(_ method: String, _ path: String, body: String? = nil) throws -> (status: Int, object: [String: Any]) {
        let r = try request(method, path, body: body)
        let object = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? ["unparsed": r.body]
        return (r.status, object)
    }

    /// The value of an unlabelled or labelled sample in GET /metrics, e.g. `rnn_active_streams{model="char"}`.
    func metric(_ sample: String) throws -> Double? {
        let text = try request("GET", "/metrics").body
        return text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }
}

/// A blocking loopback TCP connection with a read timeout: enough HTTP/1.1 for the tests.
final class Connection {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            Glibc.close(fd)
            throw NSError(domain: "connect: \(String(cString: strerror(errno)))", code: Int(errno))
        }
    }

    func close() { Glibc.close(fd) }

    func send(_ method: String, _ path: String, body: String?, headers: [String] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for h in headers { head += h + "\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        try write(Array((head + "\r\n" + (body ?? "")).utf8))
    }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw NSError(domain: "send: \(String(cString: strerror(errno)))", code: Int(errno)) }
            sent += n
        }
    }

    /// More bytes into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw NSError(domain: "recv: \(String(cString: strerror(errno)))", code: Int(errno)) }
        buffer += chunk[..<n]
        return n > 0
    }

    private func line() throws -> String? {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let l = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeSubrange(...i)
                return l.hasSuffix("\r") ? String(l.dropLast()) : l
            }
            guard try fill() else { return nil }
        }
    }

    private func bytes(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { guard try fill() else { break } }
        let out = Array(buffer.prefix(n))
        buffer.removeFirst(out.count)
        return out
    }

    /// The status line and headers.
    func readHead() throws -> (status: Int, headers: [String: String]) {
        guard let statusLine = try line(), let status = Int(statusLine.split(separator: " ")[1]) else {
            throw NSError(domain: "no status line", code: 1)
        }
        var headers: [String: String] = [:]
        while let l = try line(), !l.isEmpty {
            let parts = l.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        return (status, headers)
    }

    /// The next piece of the body: a chunk (chunked encoding) or what has arrived; nil at the end.
    func readBodyPiece(chunked: Bool) throws -> [UInt8]? {
        if chunked {
            guard let size = try line().flatMap({ Int($0, radix: 16) }), size > 0 else { return nil }
            let data = try bytes(size)
            _ = try line()
            return data
        }
        if buffer.isEmpty { guard try fill() else { return nil } }
        defer { buffer.removeAll() }
        return buffer
    }

    func readResponse() throws -> (status: Int, headers: [String: String], body: String) {
        let (status, headers) = try readHead()
        var body: [UInt8] = []
        let chunked = headers["transfer-encoding"]?.contains("chunked") ?? false
        if let length = headers["content-length"].flatMap(Int.init), !chunked {
            body = try bytes(length)
        } else {
            while let piece = try readBodyPiece(chunked: chunked) { body += piece }
        }
        return (status, headers, String(decoding: body, as: UTF8.self))
    }
}

/// The events of a Server-Sent Events body: (event name, data) in order.
func serverSentEvents(_ body: String) -> [(event: String, data: String)] {
    body.components(separatedBy: "\n\n").compactMap { block in
        var event = "message", data: String?
        for line in block.split(separator: "\n") {
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
        }
        return data.map { (event, $0) }
    }
}

/// The text of a generation stream's token events.
func streamedText(_ body: String) -> String {
    serverSentEvents(body).filter { $0.event == "message" }.map { event in
        let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any]
        return object?["token"] as? String ?? "\u{FFFD}"
    }.joined()
}
#endif
