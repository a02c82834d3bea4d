import Foundation

/// The bytes of the file at `path`, memory-mapped when that is safe.
/// - Parameter expected: what the file should be, for the message when `path` is a folder.
/// - Throws: `RecurrentError.io` in words a user can act on: the path does not exist, is a
///   folder, or cannot be read (permission denied, …).
package func readFile(_ path: String, expected: String = "a file") throws -> Data {
    // open(2) first: its errno says why a file cannot be read, where Foundation's error may not.
    let (descriptor, owned) = try openForReading(path, expected: expected)
    if owned { close(descriptor) } else { return FileHandle.standardInput.readDataToEndOfFile() }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
    } catch {
        throw RecurrentError.io(path: path, reason: "cannot be read (\(ioReason(error)))")
    }
}

/// Opens `path` for reading, "-" meaning standard input, or says in plain words why not: it
/// does not exist, is a folder (where `expected` was wanted), or cannot be read and why.
/// - Returns: the descriptor, and whether the caller closes it (not standard input's).
package func openForReading(_ path: String, expected: String = "a file") throws -> (descriptor: Int32, owned: Bool) {
    if path == "-" { return (STDIN_FILENO, false) }
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw RecurrentError.io(path: path, reason: "does not exist")
    }
    guard !isFolder.boolValue else { throw RecurrentError.io(path: path, reason: "is a folder, expected \(expected)") }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw RecurrentError.io(path: path, reason: "cannot be read (\(systemReason(errno)))") }
    return (descriptor, true)
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees a half-written file.
/// - Throws: `RecurrentError.io` when the folder does not exist, `path` is a folder, or the file
///   cannot be written.
public func writeAtomically(_ contents: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    try checkTarget(url, for: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        try contents.write(to: temporary)
        // rename(2) replaces the target in one step.
        guard Foundation.rename(temporary.path, url.path) == 0 else {
            throw RecurrentError.io(path: path, reason: "cannot be written (\(systemReason(errno)))")
        }
    } catch let error as RecurrentError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw RecurrentError.io(path: path, reason: "cannot be written (\(ioReason(error)))")
    }
}

/// Why a Foundation file operation failed, in the system's words ("permission denied"), never
/// Foundation's own text ("The operation could not be completed").
package func ioReason(_ error: Error) -> String {
    let ns = error as NSError
    // On Linux the underlying error casts to `Error`, not to `NSError`.
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error, (underlying as NSError).domain == NSPOSIXErrorDomain {
        return systemReason(Int32((underlying as NSError).code))
    }
    if ns.domain == NSPOSIXErrorDomain { return systemReason(Int32(ns.code)) }
    guard ns.domain == NSCocoaErrorDomain else { return systemReason(EIO) }
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return systemReason(ENOENT)
    case .fileReadNoPermission, .fileWriteNoPermission: return systemReason(EACCES)
    case .fileWriteOutOfSpace: return systemReason(ENOSPC)
    case .fileWriteVolumeReadOnly: return systemReason(EROFS)
    case .fileReadTooLarge: return systemReason(EFBIG)
    default: return systemReason(EIO)
    }
}

/// The C library's words for `code`, starting lower-case: "permission denied".
func systemReason(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
}

/// Throws unless `url` can take a new file: its folder exists and it is not a folder itself.
private func checkTarget(_ url: URL, for path: String) throws {
    var isFolder: ObjCBool = false
    let folder = url.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw RecurrentError.io(path: path, reason: "the folder '\(folder)' does not exist; create it first")
    }
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
        throw RecurrentError.io(path: path, reason: "is a folder; give a file name")
    }
}

/// Checks, before any work, that `output` can take a new file: its folder exists, it is not a
/// folder itself, and it is none of `inputs` (compared after resolving links), so a command
/// never replaces the file it reads.
/// - Throws: `RecurrentError.io` or `.invalidArgument` saying which.
public func checkOutputFile(_ output: String, notOverwriting inputs: [String]) throws {
    let target = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath()
    for input in inputs where target.path == URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path {
        throw RecurrentError.invalidArgument(name: "output", value: output, expected: "a path other than the input '\(input)'")
    }
    try checkTarget(target, for: output)
}

/// Removes the temporary files that `writeAtomically` left in `folder` for `names` when its
/// process was killed mid-write (`.NAME.tmp-PID`, PID no longer running), so a killed run
/// leaves no partial file behind once it is resumed.
public func removeStaleTemporaries(in folder: String, names: [String]) {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for entry in entries {
        for name in names where entry.hasPrefix(".\(name).tmp-") {
            guard let pid = Int32(entry.dropFirst(name.count + 6)) else { continue }
            // kill(pid, 0) fails with ESRCH when no such process exists: the writer is gone.
            if pid != ProcessInfo.processInfo.processIdentifier, kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(entry))
            }
        }
    }
}

/// Appends one line (a newline is added) to `path`, creating the file when it does not exist.
/// - Throws: `RecurrentError.io` when the file cannot be created, opened or written.
public func appendLine(_ line: String, to path: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw RecurrentError.io(path: path, reason: "cannot create the file")
        }
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
        throw RecurrentError.io(path: path, reason: "cannot open the file for appending")
    }
    defer { try? handle.close() }
    do {
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
    } catch {
        throw RecurrentError.io(path: path, reason: "cannot append (\(ioReason(error)))")
    }
}
