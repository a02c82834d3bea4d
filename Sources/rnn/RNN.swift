import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

/// `rnn`: the command-line face of Recurrent. It parses and prints; the library does the work.
@main
struct RNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn",
        abstract: "Recurrent neural networks from the lecture, trained from random weights.",
        discussion: """
            Examples:
              rnn roommate                                  the lecture's perfect roommate, step by step
              rnn roommate --start pasta --weather sunny,rainy,rainy
              rnn roommate --train --cell rnn --seed 3      learn the rule from random weights
              rnn compare --task adding --length 100        vanilla RNN vs LSTM vs GRU
              rnn train --text input.txt --out runs/char    a char-rnn language model
              rnn sample --checkpoint runs/char/best.safetensors --prime "ROMEO:"
              rnn bench gemm --size 1024                    matrix-multiply speed (GFLOP/s)
            """,
        version: recurrentVersion,
        subcommands: [RoommateCommand.self, CompareCommand.self, TrainCommand.self, SampleCommand.self, ScoreCommand.self,
                      ExplainCommand.self, FitCommand.self, PredictCommand.self, EvaluateCommand.self, ForecastCommand.self, DataCommand.self,
                      InspectCommand.self,
                      ImportCommand.self, ExportCommand.self, BenchCommand.self, ServeCommand.self])

    /// Runs the tool; every failure ends as one line on standard error and a non-zero status.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as RecurrentError {
            fail("\(error)")
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }   // --help, --version
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(Self.invalidChoice(message) ?? message + " (see 'rnn help')")
        }
    }

    /// The parser's words for a value outside a typed option's choices ("The value 'x' is invalid
    /// for '--task <task>'. Please provide one of 'adding' and 'copy'.") in the form every other
    /// bad value takes: "invalid task 'x': expected adding or copy".
    static func invalidChoice(_ message: String) -> String? {
        // A transform's own message ("invalid epochs '-1': …") stands alone.
        if let r = message.range(of: #"^The value '.*' is invalid for '[^']*': "#, options: .regularExpression) {
            return String(message[r.upperBound...])
        }
        let pattern = #"^The value '(.*)' is invalid for '(?:--)?([A-Za-z-]+)[^']*'\. Please provide one of (.*)\.$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let m = regex.firstMatch(in: message, range: NSRange(message.startIndex..., in: message)),
              let value = Range(m.range(at: 1), in: message), let name = Range(m.range(at: 2), in: message),
              let choices = Range(m.range(at: 3), in: message) else { return nil }
        let list = message[choices].replacingOccurrences(of: "'", with: "").replacingOccurrences(of: " and ", with: " or ")
        return "invalid \(message[name]) '\(message[value])': expected \(list)"
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(ParallelLaunch.prefix)\(message)\n".utf8))
        ParallelLaunch.abortOtherRanks()
        Foundation.exit(EXIT_FAILURE)
    }
}

/// A seed: any whole number 0...2⁶⁴−1.
func parseSeed(_ text: String) throws -> UInt64 {
    guard let v = UInt64(text) else {
        throw ValidationError("invalid seed '\(text)': expected a whole number from 0 to \(UInt64.max)")
    }
    return v
}

/// JSON output with keys in the order given.
typealias JSON = JSONText
