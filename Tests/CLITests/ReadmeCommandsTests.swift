import Foundation
import XCTest
@testable import rnn

/// Every `rnn …` command the README shows parses as typed: its subcommand exists, its flags and
/// values are accepted, and its own checks (`validate`) pass — so a reader copying a line gets the
/// run it describes, not a usage error.
final class ReadmeCommandsTests: XCTestCase {
    /// The README's command lines: each line of a code block that starts with `rnn ` (after an
    /// optional `$ `), joined with its `\` continuations, comments after `#` dropped, up to a pipe
    /// or redirection.
    static func commands() throws -> [String] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var commands: [String] = [], pending: String?
        for block in text.components(separatedBy: "```").enumerated() where block.offset % 2 == 1 {
            let lines = block.element.split(separator: "\n", omittingEmptySubsequences: false)
            // A block with `$ ` prompts shows output too: only its prompted lines are commands.
            let prompted = lines.contains { $0.hasPrefix("$ ") }
            for raw in lines {
                var line = raw.trimmingCharacters(in: .whitespaces)
                if prompted && pending == nil && !line.hasPrefix("$ ") { continue }
                if line.hasPrefix("$ ") { line.removeFirst(2) }
                if pending == nil {
                    for part in line.components(separatedBy: " && ") where part.hasPrefix("rnn ") {
                        pending = part
                        break
                    }
                    guard pending != nil else { continue }
                } else {
                    pending! += " " + line
                }
                if pending!.hasSuffix("\\") {
                    pending!.removeLast()
                    continue
                }
                var command = pending!
                pending = nil
                if let hash = command.range(of: "  #") ?? command.range(of: " # ") { command = String(command[..<hash.lowerBound]) }
                for stop in [" > ", " | ", " < ", " && "] {
                    if let r = command.range(of: stop) { command = String(command[..<r.lowerBound]) }
                }
                commands.append(command.trimmingCharacters(in: .whitespaces))
            }
        }
        // And the whole runs written inline in the prose (`rnn fit … --out runs/weeks`).
        let prose = text.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 0 }.map(\.element).joined()
        for (i, span) in prose.components(separatedBy: "`").enumerated() where i % 2 == 1 && span.hasPrefix("rnn ") {
            if span.contains(" --out ") { commands.append(span.replacingOccurrences(of: "\n", with: " ")) }
        }
        return commands
    }

    /// Splits a command line as a shell would for these lines: spaces, and '…' or "…" quoting.
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", quote: Character?, inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c == " " {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    func testEveryReadmeCommandParses() throws {
        let commands = try Self.commands()
        XCTAssertGreaterThan(commands.count, 20, "\(commands)")
        for command in commands {
            let arguments = Array(Self.words(command).dropFirst())
            XCTAssertNoThrow(try RNN.parseAsRoot(arguments), command)
        }
    }
}
