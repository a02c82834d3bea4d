import Foundation

/// Writes `contents` to `path` atomically: a temporary file in the same folder, then a rename,
/// so a reader never sees a half-written file.
public func writeAtomically(_ contents: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        try contents.write(to: temporary)
        // rename(2) replaces the target in one step.
        guard Foundation.rename(temporary.path, url.path) == 0 else {
            throw RecurrentError.io(path: path, reason: String(cString: strerror(errno)))
        }
    } catch let error as RecurrentError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw RecurrentError.io(path: path, reason: SafetensorsFile.reason(error))
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
    var isDirectory: ObjCBool = false
    let folder = target.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw RecurrentError.io(path: output, reason: "the folder '\(folder)' does not exist; create it first")
    }
    if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw RecurrentError.io(path: output, reason: "is a folder; give a file name")
    }
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
        throw RecurrentError.io(path: path, reason: "cannot append (\(SafetensorsFile.reason(error)))")
    }
}
