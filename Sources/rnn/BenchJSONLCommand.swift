import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct JSONLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Read speed of a JSON Lines dataset, as rnn fit, predict and evaluate read it.",
        discussion: """
            Reads the file whole with the dataset reader (one core, targets optional, stopping at
            the first bad line) and reports the fastest of --runs reads; MB is 10⁶ bytes.

            Examples:
              rnn bench jsonl --data train.jsonl
              rnn bench jsonl --data train.jsonl --runs 5 --json
            """)

    @Option(help: "The JSONL file to read.")
    var data: String

    @Option(parsing: .unconditional, help: "Reads of the file; the fastest is reported.")
    var runs: Int = 3

    @Flag(help: "Print {\"bytes\", \"examples\", \"seconds\", \"mb_s\", \"examples_s\", \"peak_rss_mb\"}.")
    var json = false

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("invalid runs '\(runs)': expected 1...100") }
    }

    func run() throws {
        let r = try benchmarkJSONL(path: data, runs: runs)
        let peak = peakResidentMegabytes()
        if json {
            print(JSON.object([("bytes", "\(r.bytes)"), ("examples", "\(r.examples)"), ("seconds", String(format: "%.4f", r.seconds)),
                               ("mb_s", String(format: "%.1f", r.megabytesPerSecond)),
                               ("examples_s", String(format: "%.0f", r.examplesPerSecond)), ("peak_rss_mb", String(format: "%.1f", peak))]))
        } else {
            print(String(format: "%@  %.1f MB, %d examples  best of %d: %.3f s  %.1f MB/s  %.0f examples/s  peak RSS %.1f MiB",
                         data, Double(r.bytes) / 1e6, r.examples, r.runs, r.seconds, r.megabytesPerSecond, r.examplesPerSecond, peak))
        }
    }
}
