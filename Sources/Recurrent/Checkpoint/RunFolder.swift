import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A training run's output folder, held for the whole run: created if needed, checked for
/// writing, and locked against a second run. The lock is an advisory `flock` on the folder
/// itself, which the operating system releases when the process ends however it ends, so a
/// killed run never leaves the folder locked, and no lock file is left behind.
///
/// Files: `metrics.jsonl` (a line per evaluation), `loss.svg`, `best.safetensors` and
/// `last.safetensors`, each rewritten atomically.
public final class RunFolder {
    public let path: String
    private var lockDescriptor: Int32 = -1
    /// False for another rank's view (`forRank`): `lock` does nothing.
    private var locks = true

    public var lastPath: String { file("last.safetensors") }
    public var bestPath: String { file("best.safetensors") }
    public var metricsPath: String { file("metrics.jsonl") }
    public var chartPath: String { file("loss.svg") }
    /// The path of `name` inside the folder.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Takes the folder's lock, creating the folder first when `create` is set (a new run; a
    /// resume needs the folder to exist).
    /// - Throws: `RecurrentError.io` when the folder cannot be created, is missing, cannot be
    ///   written, or another run holds it (a second run into the same folder, or a resume of a
    ///   run still going); nothing is written then.
    public init(_ path: String, create: Bool = true) throws {
        self.path = path
        var isFolder: ObjCBool = false
        if create {
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                throw RecurrentError.io(path: path, reason: "is a file, expected a folder for the run")
            }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw RecurrentError.io(path: path, reason: "cannot create the output folder (\(ioReason(error)))")
            }
        } else if !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) || !isFolder.boolValue {
            throw RecurrentError.io(path: path, reason: "no such run folder")
        }
        guard access(path, W_OK) == 0 else {
            throw RecurrentError.io(path: path, reason: "the output folder is not writable")
        }
        try lock()
    }

    /// The run's folder as rank `parallel.rank` of a data-parallel run sees it: rank 0 (and a
    /// single process) takes it as `init(_:create:)` does; the other ranks get a view of it that
    /// is never created, locked or written through (only rank 0 runs the trainer's observers).
    public static func forRank(_ path: String, create: Bool = true, parallel: DataParallel?) throws -> RunFolder {
        if let parallel, !parallel.isPrimary { return RunFolder(heldByRankZero: path) }
        return try RunFolder(path, create: create)
    }

    private init(heldByRankZero path: String) {
        self.path = path
        locks = false
    }

    deinit { unlock() }

    /// Takes the folder's lock (nothing when this object holds it already).
    /// - Throws: `RecurrentError.io` when another run holds it.
    public func lock() throws {
        guard lockDescriptor < 0, locks else { return }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RecurrentError.io(path: path, reason: "cannot open the output folder (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw RecurrentError.io(path: path, reason: "another run is writing into this folder; "
                                    + "wait for it to finish or choose another folder")
        }
        lockDescriptor = fd
    }

    /// Releases the lock (a finished run; the next run or resume may take it).
    public func unlock() {
        guard lockDescriptor >= 0 else { return }
        close(lockDescriptor)
        lockDescriptor = -1
    }

    /// Whether the folder already holds a run's last checkpoint.
    public var holdsCheckpoint: Bool { FileManager.default.fileExists(atPath: lastPath) }

    /// Readies the folder for a run starting (or resuming) at `step`: removes temporaries that
    /// a killed writer left, and keeps only the complete metrics lines up to `step` (a run
    /// killed between its metrics line and its checkpoint wrote lines past it, or half a line).
    /// - Returns: (step, train loss, validation loss) of the lines kept: the history a resumed
    ///   run's chart continues.
    @discardableResult
    public func prepare(resumingAt step: Int) throws -> [(step: Int, train: Double, validation: Double?)] {
        removeStaleTemporaries(in: path, names: ["last.safetensors", "best.safetensors", "loss.svg", "metrics.jsonl"])
        guard let data = FileManager.default.contents(atPath: metricsPath) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var kept: [String] = []
        var history: [(step: Int, train: Double, validation: Double?)] = []
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = o["step"] as? Int, s <= step else { continue }
            kept.append(line + "\n")
            if let train = o["train_loss"] as? Double { history.append((s, train, o["val_loss"] as? Double)) }
        }
        let cleaned = kept.joined()
        if cleaned.isEmpty {
            try? FileManager.default.removeItem(atPath: metricsPath)
        } else if cleaned != text {
            try writeAtomically(Data(cleaned.utf8), to: metricsPath)
        }
        return history
    }

    /// Appends an evaluation's line to metrics.jsonl: step, epoch, train_loss, val_loss, the
    /// task's metrics, learning_rate, tokens_per_second, elapsed_seconds, train_seconds (the
    /// part of elapsed_seconds in training steps).
    public func appendMetrics(_ r: TrainingRecord) throws {
        var fields = ["\"step\": \(r.step)", "\"epoch\": \(r.epoch)"]
        if let t = r.trainLoss { fields.append("\"train_loss\": \(t)") }
        if let v = r.evaluation?.loss { fields.append("\"val_loss\": \(v)") }
        for m in r.evaluation?.metrics ?? [] { fields.append("\(JSONText.string("val_" + m.name)): \(m.value)") }
        fields += ["\"learning_rate\": \(Double(r.learningRate))", "\"tokens_per_second\": \(r.tokensPerSecond.rounded())",
                   "\"elapsed_seconds\": \((r.elapsedSeconds * 1000).rounded() / 1000)",
                   "\"train_seconds\": \((r.trainingSeconds * 1000).rounded() / 1000)"]
        try appendLine("{" + fields.joined(separator: ", ") + "}", to: metricsPath)
    }
}
