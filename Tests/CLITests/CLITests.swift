import Foundation
import XCTest

/// End-to-end tests of the `rnn` executable: real processes, real exit codes.
final class CLITests: XCTestCase {
    typealias Result = CLIResult
    static var binary: URL { rnnBinary }
    func run(_ arguments: [String]) throws -> CLIResult { try runRNN(arguments) }

    func testRoommateShowsTheLectureAndTheSchedule() throws {
        let r = try run(["roommate", "--start", "pasta", "--weather", "sunny,rainy,rainy,sunny,rainy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Add                   = [1, 0, 0, 1, 2, 1]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ReLU(Add − 1)         = [0, 0, 0, 0, 1, 0]"))
        XCTAssertTrue(r.stdout.contains("= [0, 1, 0] = burger"))
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  Monday") || $0.hasPrefix("  Friday") }
        XCTAssertEqual(rows.map { $0.split(separator: " ").map(String.init) },
                       [["Monday", "sunny", "pasta"], ["Friday", "rainy", "pasta"]])
    }

    func testRoommateJSON() throws {
        let r = try run(["roommate", "--start", "pasta", "--weather", "sunny,rainy,rainy,sunny,rainy", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["start"] as? String, "pasta")
        XCTAssertEqual(object?["weather"] as? [String], ["sunny", "rainy", "rainy", "sunny", "rainy"])
        XCTAssertEqual(object?["schedule"] as? [String], ["pasta", "burger", "salad", "salad", "pasta"])
        // A seeded random week: seven days, the same for the same seed.
        let a = try run(["roommate", "--seed", "5", "--json"]), b = try run(["roommate", "--seed", "5", "--json"])
        XCTAssertEqual(a.stdout, b.stdout)
        let week = try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((week?["schedule"] as? [String])?.count, 7)
    }

    func testRoommateTrainJSON() throws {
        for cell in ["roommate", "rnn"] {
            let r = try run(["roommate", "--train", "--cell", cell, "--seed", "3", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(object?["cell"] as? String, cell)
            XCTAssertEqual(object?["accuracy"] as? Double, 1.0)
            XCTAssertEqual(object?["seed"] as? Int, 3)
            XCTAssertGreaterThan(object?["steps"] as? Int ?? 0, 0)
        }
    }

    /// Bad input: one line on stderr naming the bad value and what is accepted, non-zero exit, no trap.
    func testBadInputGivesOneLineErrors() throws {
        let cases: [([String], [String])] = [
            (["roommate", "--start", "soup"], ["soup", "pasta, burger, salad"]),
            (["roommate", "--weather", "sunny,snowy"], ["snowy", "sunny, rainy"]),
            (["roommate", "--weather", ""], ["weather list", "sunny, rainy"]),
            (["roommate", "--weather", Array(repeating: "sunny", count: 10_001).joined(separator: ",")], ["10001 days", "at most 10000"]),
            (["roommate", "--seed", "abc"], ["abc", "whole number"]),
            (["roommate", "--seed=-1"], ["-1", "whole number"]),
            (["roommate", "--train", "--cell", "lstm"], ["lstm", "roommate or rnn"]),
            (["bench", "gemm", "--size", "0"], ["size '0'"]),
            (["frobnicate"], ["frobnicate"]),
            (["compare", "--length", "1"], ["length '1'", "2...100000"]),
            (["compare", "--hidden", "0"], ["hidden '0'"]),
            (["compare", "--cells", "rnn,transformer"], ["transformer", "lstm, gru"]),
            (["compare", "--task", "sorting"], ["sorting", "adding or copy"]),
        ]
        for (arguments, needles) in cases {
            let r = try run(arguments)
            XCTAssertFalse(r.signaled, "\(arguments) crashed")
            XCTAssertNotEqual(r.status, 0, "\(arguments) succeeded")
            XCTAssertLessThan(r.status, 128, "\(arguments)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(r.stderr)")
            for needle in needles { XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr) lacks \(needle)") }
            XCTAssertTrue(r.stdout.isEmpty, "\(arguments) printed \(r.stdout)")
        }
    }

    func testHelpShowsExamples() throws {
        for command in [["--help"], ["roommate", "--help"], ["compare", "--help"], ["bench", "--help"], ["bench", "gemm", "--help"]] {
            let r = try run(command)
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("Examples:"), "\(command)")
        }
    }

    func testCompareWritesTableJSONAndChart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let svg = dir.appendingPathComponent("chart.svg").path
        let r = try run(["compare", "--task", "copy", "--length", "5", "--cells", "rnn,gru", "--hidden", "8", "--steps", "20",
                         "--batch", "8", "--svg", svg, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["task"] as? String, "copy")
        XCTAssertEqual(object?["length"] as? Int, 5)
        XCTAssertEqual(object?["baseline"] as? Double ?? 0, 10 * log(8.0) / 25, accuracy: 1e-9)
        let results = object?["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.map { $0["cell"] as? String }, ["rnn", "gru"])
        XCTAssertTrue(results.allSatisfy { ($0["test_loss"] as? Double ?? -1) > 0 && ($0["steps"] as? Int) == 20 })
        let chart = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(chart.hasPrefix("<svg"))
        XCTAssertTrue(chart.contains("baseline"))
        let text = try run(["compare", "--task", "adding", "--length", "6", "--cells", "lstm", "--hidden", "4", "--steps", "5",
                            "--svg", svg])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("‖∂L/∂h_t‖"))
        XCTAssertTrue(text.stdout.contains("lstm"))
    }

    func testBenchGEMMJSON() throws {
        let r = try run(["bench", "gemm", "--size", "64", "--seconds", "0.05", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["size"] as? Int, 64)
        XCTAssertGreaterThan(object?["gflops"] as? Double ?? 0, 0)
    }
}

/// What one run of `rnn` did.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
    let signaled: Bool
}

/// The built `rnn`, in the build folder beside the test bundle (macOS runs the bundle inside
/// xctest, Linux runs it as the process itself). Found once: `Bundle.allBundles` leaks an array
/// on every call in Foundation on Linux, which AddressSanitizer's leak check reports.
let rnnBinary: URL = {
    #if os(macOS)
    if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
        return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("rnn")
    }
    #endif
    let exe = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
    return exe.deletingLastPathComponent().appendingPathComponent("rnn")
}()

/// A child `rnn` process started with posix_spawn, its standard output and error going to
/// files (or /dev/null). Not Foundation's `Process`: on Linux it leaves weak-reference side
/// tables that AddressSanitizer's leak check reports with everything they reach.
final class ChildProcess {
    let pid: pid_t

    /// Starts `rnn arguments`; nil paths mean /dev/null (`stdin` is the file it reads as standard
    /// input); `environment` adds to or replaces this process's variables.
    init(_ arguments: [String], stdin: String? = nil, stdout: String? = nil, stderr: String? = nil,
         environment: [String: String] = [:]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([rnnBinary.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = environment.isEmpty ? [] : ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { variables.forEach { free($0) } }
        var pid: pid_t = 0
        let status = environment.isEmpty ? posix_spawn(&pid, rnnBinary.path, &actions, nil, argv, environ)
                                         : posix_spawn(&pid, rnnBinary.path, &actions, nil, argv, variables)
        guard status == 0 else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(status),
                          userInfo: [NSLocalizedDescriptionKey: "posix_spawn \(rnnBinary.path): \(String(cString: strerror(status)))"])
        }
        self.pid = pid
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the child: its exit status, or the signal that ended it.
    func wait() -> (status: Int32, signaled: Bool) {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let signal = raw & 0x7F
        return signal == 0 ? ((raw >> 8) & 0xFF, false) : (signal, true)
    }
}

extension XCTestCase {
    /// Checks that `r` failed with exactly one line on standard error holding every needle and
    /// no Foundation error text; returns that line.
    @discardableResult
    func expectOneLineError(_ r: CLIResult, _ needles: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertFalse(r.signaled, file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "succeeded: \(r.stdout)", file: file, line: line)
        XCTAssertLessThan(r.status, 128, file: file, line: line)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, r.stderr.debugDescription, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr, file: file, line: line)
        for needle in needles { XCTAssertTrue(r.stderr.contains(needle), "\(r.stderr) lacks \(needle)", file: file, line: line) }
        for foundation in ["NSCocoaErrorDomain", "NSPOSIXErrorDomain", "could not be completed", "Error Domain="] {
            XCTAssertFalse(r.stderr.contains(foundation), r.stderr, file: file, line: line)
        }
        return lines.first.map(String.init) ?? ""
    }
}

/// Runs `rnn` with `arguments` (and `environment` added to this process's) and collects
/// everything it did.
func runRNN(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CLIResult {
    let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let out = (folder as NSString).appendingPathComponent("stdout"), err = (folder as NSString).appendingPathComponent("stderr")
    let (status, signaled) = try ChildProcess(arguments, stdin: stdin, stdout: out, stderr: err, environment: environment).wait()
    func read(_ path: String) -> String { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
    return CLIResult(status: status, stdout: read(out), stderr: read(err), signaled: signaled)
}

final class BenchCLITests: XCTestCase {
    func testBenchCaseJSON() throws {
        let r = try runRNN(["bench", "--case", "rnn-100x1-b1-t25", "--seconds", "0.05", "--tokens", "20", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["case"] as? String, "rnn-100x1-b1-t25")
        for key in ["train_tok_s", "gen_tok_s", "peak_rss_mb"] {
            XCTAssertGreaterThan(object?[key] as? Double ?? 0, 0, key)
        }
        let bad = try runRNN(["bench", "--case", "lstm-9x9"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("unknown case 'lstm-9x9'"), bad.stderr)
    }
}

final class RooflineCLITests: XCTestCase {
    /// `--roofline` adds the machine's ceilings and each figure's share of them; the model's FLOPs
    /// and bytes per token are the counts the help states.
    func testRooflineSharesAndCounts() throws {
        let r = try runRNN(["bench", "--case", "lstm-128x2-b50-t50", "--seconds", "0.2", "--tokens", "200", "--json", "--roofline"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        for key in ["fma_gflops", "train_gflops", "gen_ceiling_tok_s"] { XCTAssertGreaterThan(o[key] as? Double ?? 0, 0, key) }
        for key in ["train_share", "gen_share"] {
            let share = o[key] as? Double ?? -1
            XCTAssertTrue(share > 0 && share < 2, "\(key) \(share)")
        }
        // lstm-128x2 over 65 symbols, per token: recurrent 512×128 twice, layer 1's input 512×128,
        // the head 65×128 multiply-adds; ×2 FLOPs, ×3 with backward.
        let flops = Double(3 * 2 * (3 * 512 * 128 + 65 * 128))
        XCTAssertEqual(try XCTUnwrap(o["train_gflops"] as? Double), flops * (o["train_tok_s"] as? Double ?? 0) * 1e-9, accuracy: 0.06)
        // Generation reads W_hh twice, layer 1's W_ih and the head in float32, and the symbol's
        // table row of 512 floats, split over the threads.
        let bytes = Double((3 * 512 * 128 + 65 * 128) * 4 + 512 * 4)
        let threads = try XCTUnwrap(o["threads"] as? Double)
        XCTAssertEqual(try XCTUnwrap(o["gen_kb_per_core"] as? Double), bytes / threads / 1024, accuracy: 0.06)
    }
}

final class DeepBenchCLITests: XCTestCase {
    func testDeepBenchCaseJSONAndBadSizes() throws {
        let r = try runRNN(["bench", "deepbench", "--hidden", "16", "--batch", "2", "--steps", "5", "--runs", "3", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(o["hidden"] as? Int, 16)
        XCTAssertGreaterThan(o["ms"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(o["gflops"] as? Double ?? 0, 0)
        let bad = try runRNN(["bench", "deepbench", "--batch", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("invalid batch '0'"), bad.stderr)
    }
}
