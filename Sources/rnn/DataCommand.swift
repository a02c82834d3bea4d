import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Write an example dataset as JSON Lines: addition, roommate or captions.",
        discussion: """
            addition (seq2seq): "535+61" → "596"; roommate (tag, word tokens): weather → dishes; \
            captions (caption, word tokens): 8×8 RGB images → "red square top left".

            Examples:
              rnn data addition > addition.jsonl
              rnn data roommate --count 500 --seed 2 > weeks.jsonl
              rnn data captions > captions.jsonl
            """)

    @Argument(help: "addition, roommate or captions.")
    var name: ExampleData

    @Option(parsing: .unconditional, help: "Examples (default: 50000 for addition, 2000 otherwise).")
    var count: Int?

    @Option(help: "Seed.", transform: parseSeed)
    var seed: UInt64 = 1

    func validate() throws {
        if let count, count < 1 || count > 10_000_000 { throw ValidationError("invalid count '\(count)': expected 1...10000000") }
    }

    func run() throws {
        let data = name
        let lines = data.lines(count: count ?? data.defaultCount, seed: seed)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
