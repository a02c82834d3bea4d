import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Write an example dataset: addition, roommate or captions (JSON Lines), or series (CSV).",
        discussion: """
            addition (seq2seq): "535+61" → "596"; roommate (tag, word tokens): weather → dishes; \
            captions (caption, word tokens): 8×8 RGB images → "red square top left".

            series (CSV, for forecasting): --count daily series of --length steps from 2020-01-01, \
            header date,series,value,day_of_week (0 Monday … 6 Sunday, known in advance); value = \
            level + trend·t + a weekly and a yearly sine (amplitudes, phases, level and trend drawn \
            per series from the seed) + Gaussian noise of standard deviation --noise.

            Examples:
              rnn data addition > addition.jsonl
              rnn data roommate --count 500 --seed 2 > weeks.jsonl
              rnn data captions > captions.jsonl
              rnn data series --count 3 --length 730 --noise 1 > series.csv
            """)

    @Argument(help: "addition, roommate, captions or series.")
    var name: DataName

    @Option(parsing: .unconditional, help: "Examples, or series for series (default: 50000 for addition, 3 for series, 2000 otherwise).")
    var count: Int?

    @Option(parsing: .unconditional, help: "series only: steps (days) per series, 2...1000000 (default 730).")
    var length: Int?

    @Option(parsing: .unconditional, help: "series only: standard deviation of the Gaussian noise, 0...1000000 (default 1).")
    var noise: Double?

    @Option(help: "Seed.", transform: parseSeed)
    var seed: UInt64 = 1

    func validate() throws {
        if let count, count < 1 || count > 10_000_000 { throw ValidationError("invalid count '\(count)': expected 1...10000000") }
        if name != .series && (length != nil || noise != nil) {
            throw ValidationError("--length and --noise are for 'rnn data series' only")
        }
        if name == .series {
            let length = length ?? 730, noise = noise ?? 1
            if let count, count > 10_000 { throw ValidationError("invalid count '\(count)': expected 1...10000 series") }
            if length < 2 || length > 1_000_000 { throw ValidationError("invalid length '\(length)': expected 2...1000000") }
            if (count ?? 3) * length > 10_000_000 {
                throw ValidationError("invalid length '\(length)': count × length must be at most 10000000 rows")
            }
            if !(noise >= 0 && noise <= 1e6) { throw ValidationError("invalid noise '\(noise)': expected 0...1000000") }
        }
    }

    func run() throws {
        if name == .series {
            let generator = SyntheticSeries(count: count ?? 3, length: length ?? 730, noise: noise ?? 1)
            FileHandle.standardOutput.write(Data(generator.csv(seed: seed).utf8))
            return
        }
        let data = ExampleData(rawValue: name.rawValue)!
        let lines = data.lines(count: count ?? data.defaultCount, seed: seed)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// What `rnn data` writes: one of the JSONL example datasets, or synthetic time series as CSV.
enum DataName: String, ExpressibleByArgument, CaseIterable {
    case addition, roommate, captions, series
}
