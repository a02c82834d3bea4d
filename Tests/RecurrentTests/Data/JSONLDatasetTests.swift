import Foundation
import XCTest
@testable import Recurrent

/// The byte-level JSONL reader: line ends, byte order marks, chunk boundaries, every escape,
/// agreement with Foundation's JSONSerialization, correctly rounded numbers and one-line errors.
final class JSONLDatasetTests: XCTestCase {
    let lines = [
        "{\"input\": \"ab c\", \"target\": \"x\", \"id\": \"first\"}",
        "{\"input\": \"été\", \"target\": \"y\"}",
        "{\"input\": \"b\", \"target\": \"x\", \"id\": 7}",
    ]

    func testWindowsLineEndsByteOrderMarkAndLastLineGiveTheSameExamples() throws {
        let lf = try JSONLDataset(text: lines.joined(separator: "\n") + "\n", path: "d.jsonl", requireTarget: true)
        XCTAssertEqual(lf.examples.count, 3)
        XCTAssertEqual(lf.examples.map(\.line), [1, 2, 3])
        XCTAssertEqual(lf.examples[0].input, .text("ab c"))
        XCTAssertEqual(lf.examples[1].target, .string("y"))
        XCTAssertEqual(lf.examples[2].id, "7")
        let variants = [
            lines.joined(separator: "\r\n") + "\r\n",
            lines.joined(separator: "\r\n"),
            "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n",
            "\u{FEFF}" + lines.joined(separator: "\n"),
            lines.joined(separator: "\n"),
        ]
        let folder = TemporaryFolder()
        for (k, text) in variants.enumerated() {
            XCTAssertEqual(try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true).examples, lf.examples, "variant \(k)")
            let file = folder.write("v\(k).jsonl", text)
            XCTAssertEqual(try JSONLDataset(contentsOf: file, requireTarget: true).examples, lf.examples, "file variant \(k)")
        }
        // A byte order mark anywhere but the start is not skipped.
        XCTAssertThrowsError(try JSONLDataset(text: lines[0] + "\n\u{FEFF}" + lines[1], path: "d.jsonl", requireTarget: true)) {
            XCTAssertTrue("\($0)".hasPrefix("d.jsonl:2: not valid JSON"), "\($0)")
        }
    }

    func testLineNumbersCountBlankLinesWithEitherLineEnd() throws {
        for end in ["\n", "\r\n"] {
            let text = [lines[0], "", "  \t", lines[1], "{\"input\": 3}", "", lines[2]].joined(separator: end)
            XCTAssertThrowsError(try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true)) {
                XCTAssertEqual("\($0)", "d.jsonl:5: \"input\" must be a string, an array of numbers, or an array of arrays of numbers (use --on-error skip to skip bad lines)")
            }
            let skipped = try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true, onError: .skip)
            XCTAssertEqual(skipped.examples.map(\.line), [1, 4, 7])
            XCTAssertEqual(skipped.skipped.map(\.line), [5])
        }
    }

    /// Lines across chunk boundaries, longer than a chunk, "\r" and "\n" split between chunks.
    func testSmallChunksGiveTheSameLines() throws {
        var rng = SeededGenerator(seed: 3)
        var expected: [String] = []
        var text = "\u{FEFF}"
        for k in 0..<60 {
            let line = String(repeating: "abcdefghij", count: rng.nextInt(below: 5)) + "é\(k)"
            expected.append(line)
            text += line + (k % 3 == 0 ? "\r\n" : "\n")
        }
        expected.append("last")
        text += "last"
        let file = TemporaryFolder()
        let path = file.write("lines.txt", text)
        for chunk in [1, 2, 3, 7, 16, 1 << 20] {
            var seen: [String] = [], numbers: [Int] = []
            let size = try LineReader.forEachLine(path: path, chunkSize: chunk) {
                seen.append(String(decoding: $0, as: UTF8.self))
                numbers.append($1)
            }
            XCTAssertEqual(size, text.utf8.count)
            XCTAssertEqual(seen, expected, "chunk \(chunk)")
            XCTAssertEqual(numbers, Array(1...expected.count), "chunk \(chunk)")
        }
    }

    func testEveryEscapeIsDecoded() throws {
        let line = #"{"input": "q\"b\\s\/n\nt\tb\bf\fr\re\u00e9\u00E9 cjk\u4e2d astral\ud83d\ude00 nul\u0000!", "target": "\u0041"}"#
        let example = try JSONLDataset(text: line, path: "d.jsonl", requireTarget: true).examples[0]
        XCTAssertEqual(example.input, .text("q\"b\\s/n\nt\tb\u{8}f\u{C}r\re\u{E9}\u{E9} cjk\u{4E2D} astral\u{1F600} nul\u{0}!"))
        XCTAssertEqual(example.target, .string("A"))
        // Keys may be escaped too, and a repeated key keeps its last value.
        let keys = #"{"\u0069nput": true, "input": "ab", "t\u0061rget": "x"}"#
        XCTAssertEqual(try JSONLDataset(text: keys, path: "d.jsonl", requireTarget: true).examples[0].input, .text("ab"))
    }

    /// Ids as Foundation's NSNumber wrote them.
    func testNumericIdsAreWrittenAsBefore() throws {
        let cases = ["3": "3", "-7": "-7", "-0": "0", "3.0": "3.0", "1e2": "100.0", "2.50": "2.5", "0.1": "0.1",
                     "12345678901234567890": "12345678901234567890", "1.5e300": "1.5e+300"]
        for (written, id) in cases {
            let line = "{\"input\": \"ab\", \"id\": \(written)}"
            XCTAssertEqual(try JSONLDataset(text: line, path: "d.jsonl", requireTarget: false).examples[0].id, id, written)
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual((object?["id"] as? NSNumber)?.stringValue, id, "Foundation, \(written)")
        }
    }

    /// Random lines — strings with escapes and non-ASCII, nested numeric arrays, numbers in
    /// every form, other keys with nested values — read by both parsers. Strings and shapes must
    /// agree exactly; numbers to 10⁻¹⁴ (Double) or an ulp (Float), because Foundation's are not
    /// always correctly rounded ("-51.41208029731325" gives -51.41208029731324;
    /// `testNumbersAreCorrectlyRounded` holds ours to `Double(String)` bit for bit).
    func testRandomLinesMatchFoundation() throws {
        var rng = SeededGenerator(seed: 11)
        var offByAnUlp = 0
        for k in 0..<400 {
            let line = randomLine(&rng)
            let ours = try JSONLDataset(text: line, path: "d.jsonl", requireTarget: false).examples[0]
            let theirs = try foundationExample(line)
            XCTAssertTrue(agree(ours, theirs), "line \(k): \(line)\nours:       \(ours)\nFoundation: \(theirs)")
            offByAnUlp += ours == theirs ? 0 : 1
        }
        // The comparison can fail: most lines agree exactly, and some do not.
        XCTAssertGreaterThan(offByAnUlp, 0)
        XCTAssertLessThan(offByAnUlp, 200)
    }

    /// Same ids, strings and shapes; Double targets within 10⁻¹⁴ relative, Float inputs equal or neighbours.
    func agree(_ a: Example, _ b: Example) -> Bool {
        func near(_ x: Double, _ y: Double) -> Bool { abs(x - y) <= 1e-14 * abs(x) }
        func near(_ x: Float, _ y: Float) -> Bool { x == y || x.nextUp == y || x.nextDown == y }
        func near(_ x: [Float], _ y: [Float]) -> Bool { x.count == y.count && zip(x, y).allSatisfy { near($0, $1) } }
        guard a.id == b.id, a.line == b.line else { return false }
        switch (a.input, b.input) {
        case let (.text(x), .text(y)): guard x == y else { return false }
        case let (.vector(x), .vector(y)): guard near(x, y) else { return false }
        case let (.sequence(x), .sequence(y)): guard x.count == y.count, zip(x, y).allSatisfy({ near($0, $1) }) else { return false }
        default: return false
        }
        switch (a.target, b.target) {
        case let (.number(x)?, .number(y)?): return near(x, y)
        case let (.numbers(x)?, .numbers(y)?): return x.count == y.count && zip(x, y).allSatisfy { near($0, $1) }
        default: return a.target == b.target
        }
    }

    /// Numbers as `Double(String)` reads them, bit for bit: the exact fast path and the rest.
    func testNumbersAreCorrectlyRounded() throws {
        var rng = SeededGenerator(seed: 5)
        var texts = ["0.1", "0.3", "9007199254740993", "9007199254740992", "1e23", "8.98846567431158e307",
                     "2.2250738585072014e-308", "4.9e-324", "123456789012345678901234567890", "0.30000000000000004",
                     "1.7976931348623157e308", "-0.0", "1E22", "1e-22", "3.4028234663852886e38", "0.000001", "1e-400"]
        for _ in 0..<2000 {
            let digits = String((0..<(1 + rng.nextInt(below: 24))).map { _ in Character(String(rng.nextInt(below: 10))) })
            let trimmed = String(digits.drop { $0 == "0" }.isEmpty ? "0" : digits.drop { $0 == "0" })
            let point = rng.nextInt(below: trimmed.count + 1)
            var text = point == 0 || point == trimmed.count ? trimmed
                : String(trimmed.prefix(point)) + "." + String(trimmed.dropFirst(point))
            if text.hasPrefix("0") && text.count > 1 && !text.hasPrefix("0.") { text = "0" }
            if rng.nextInt(below: 2) == 0 { text += ["e", "E"][rng.nextInt(below: 2)] + ["", "+", "-"][rng.nextInt(below: 3)] + "\(rng.nextInt(below: 30))" }
            texts.append(rng.nextInt(below: 2) == 0 ? "-" + text : text)
        }
        for text in texts {
            let expected = Double(text)!
            let line = "{\"input\": \"ab\", \"target\": \(text)}"
            if expected.isFinite && abs(expected) <= Double(Float.greatestFiniteMagnitude) {
                guard case let .number(d) = try JSONLDataset(text: line, path: "d.jsonl", requireTarget: true).examples[0].target else {
                    return XCTFail(text)
                }
                XCTAssertEqual(d.bitPattern, expected.bitPattern, "\(text): \(d) != \(expected)")
            } else {
                XCTAssertThrowsError(try JSONLDataset(text: line, path: "d.jsonl", requireTarget: true), text)
            }
        }
    }

    func testBadLinesGiveOneLineErrors() throws {
        let good = "{\"input\": \"ab\", \"target\": \"x\"}"
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let cases: [(String, String)] = [
            ("{\"input\": \"ab\", \"target\": \"x\"", "not valid JSON at byte 30: expected ',' or '}', found the end of the line"),
            ("{\"input\": \"ab\", \"target\": \"x\"} x", "not valid JSON at byte 32: expected the end of the line after the object, found 'x'"),
            ("{\"input\": \"ab\", \"target\": \"x\"}}", "expected the end of the line after the object, found '}'"),
            ("{\"input\": \"ab\", \"target\": \"x", "expected a closing '\"', found the end of the line"),
            ("{\"input\": \"ab, \"target\": \"x\"}", "not valid JSON at byte 17: expected ',' or '}', found 't'"),
            ("{input: \"ab\"}", "not valid JSON at byte 2: expected a key in double quotes, found 'i'"),
            ("{\"input\" \"ab\"}", "expected ':' after the key, found '\"'"),
            ("{\"input\": \"ab\",}", "expected a key in double quotes, found '}'"),
            ("{\"input\": [1, 2,], \"target\": \"x\"}", "expected a value, found ']'"),
            ("{\"input\": [01], \"target\": \"x\"}", "expected ',' or ']', found '1'"),
            ("{\"input\": [1.], \"target\": \"x\"}", "expected a digit after the decimal point, found ']'"),
            ("{\"input\": [.5], \"target\": \"x\"}", "expected a value, found '.'"),
            ("{\"input\": [+1], \"target\": \"x\"}", "expected a value, found '+'"),
            ("{\"input\": [1e], \"target\": \"x\"}", "expected a digit in the exponent, found ']'"),
            ("{\"input\": [-], \"target\": \"x\"}", "expected a digit, found ']'"),
            ("{\"input\": [NaN], \"target\": \"x\"}", "expected a value, found 'N'"),
            ("{\"input\": tru, \"target\": \"x\"}", "expected a value, found 't'"),
            ("{\"input\": \"a\\qb\", \"target\": \"x\"}", "expected an escape"),
            ("{\"input\": \"a\\u12G4\", \"target\": \"x\"}", "expected four hex digits after \\u, found 'G'"),
            ("{\"input\": \"a\\ud800b\", \"target\": \"x\"}", "\\uD800 (a high surrogate) must be followed by a low surrogate"),
            ("{\"input\": \"a\\ud800\\u0041\", \"target\": \"x\"}", "\\u0041 after a high surrogate is not a low surrogate"),
            ("{\"input\": \"a\\udc00\", \"target\": \"x\"}", "\\uDC00 is a low surrogate without a high one"),
            ("{\"input\": \"a\tb\", \"target\": \"x\"}", "a control character (0x9) inside a string"),
            ("{\"input\": \"ab\", \"target\": \"x\", \"extra\": \(deep)}", "nested more than 512 deep"),
            ("3", "not a JSON object"),
            ("[\"ab\", \"x\"]", "not a JSON object"),
            ("{\"target\": \"x\"}", "no \"input\""),
            ("{\"input\": \"ab\"}", "no \"target\""),
            ("{\"input\": \"ab\", \"target\": null}", "no \"target\""),
            ("{\"input\": {\"a\": 1}, \"target\": \"x\"}", "\"input\" must be a string"),
            ("{\"input\": null, \"target\": \"x\"}", "\"input\" must be a string"),
            ("{\"input\": [1, \"a\"], \"target\": \"x\"}", "\"input\" must be a string"),
            ("{\"input\": [[1], 2], \"target\": \"x\"}", "\"input\" must be a string"),
            ("{\"input\": [1e39], \"target\": \"x\"}", "\"input\" must be a string"),
            ("{\"input\": [], \"target\": \"x\"}", "\"input\" is empty"),
            ("{\"input\": \"\", \"target\": \"x\"}", "\"input\" is empty"),
            ("{\"input\": [[1, 2], [3, true]], \"target\": \"x\"}", "\"input\" step 1 must be a non-empty array of finite numbers"),
            ("{\"input\": [[1, 2], []], \"target\": \"x\"}", "\"input\" step 1 must be a non-empty array of finite numbers"),
            ("{\"input\": [[1, 2], [3]], \"target\": \"x\"}", "\"input\" step 1 has 1 features, step 0 has 2"),
            ("{\"input\": \"ab\", \"target\": true}", "\"target\" must be a string, a number"),
            ("{\"input\": \"ab\", \"target\": [1, \"a\"]}", "\"target\" must be a string, a number"),
            ("{\"input\": \"ab\", \"target\": 1e300}", "\"target\" must be a string, a number"),
            ("{\"input\": \"ab\", \"target\": []}", "\"target\" is empty"),
            ("{\"input\": \"ab\", \"target\": \"x\", \"id\": null}", "\"id\" must be a string or a number"),
            ("{\"input\": \"ab\", \"target\": \"x\", \"id\": [1]}", "\"id\" must be a string or a number"),
        ]
        for (line, message) in cases {
            let text = [good, line, good].joined(separator: "\r\n")
            XCTAssertThrowsError(try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true), line) {
                let description = "\($0)"
                XCTAssertTrue(description.hasPrefix("d.jsonl:2: "), description)
                XCTAssertTrue(description.contains(message), "\(description) does not say \(message)")
                XCTAssertFalse(description.contains("\n"), description)
            }
            let skipped = try JSONLDataset(text: text, path: "d.jsonl", requireTarget: true, onError: .skip)
            XCTAssertEqual(skipped.examples.map(\.line), [1, 3], line)
            XCTAssertEqual(skipped.skipped.map(\.line), [2], line)
        }
    }

    func testBytesThatAreNotUTF8AreALineError() throws {
        let folder = TemporaryFolder()
        let good = Array("{\"input\": \"ab\", \"target\": \"x\"}\n".utf8)
        let cases: [([UInt8], String)] = [
            (Array("{\"input\": \"caf".utf8) + [0xE9] + Array("\", \"target\": \"x\"}".utf8), "not valid UTF-8 in the string at byte 11"),
            (Array("{\"input\": \"".utf8) + [0xED, 0xA0, 0x80] + Array("\", \"target\": \"x\"}".utf8), "not valid UTF-8"),
            ([0x7B, 0x00, 0x7D], "not valid JSON at byte 2: expected a key in double quotes, found byte 0x0"),
        ]
        for (bytes, message) in cases {
            let path = folder.write("bad.jsonl", bytes: good + bytes + [0x0A] + good)
            XCTAssertThrowsError(try JSONLDataset(contentsOf: path, requireTarget: true)) {
                XCTAssertTrue("\($0)".contains("bad.jsonl:2: \(message)"), "\($0)")
            }
        }
        let empty = folder.write("empty.jsonl", bytes: [])
        XCTAssertThrowsError(try JSONLDataset(contentsOf: empty, requireTarget: true)) {
            XCTAssertTrue("\($0)".contains("the file is empty"), "\($0)")
        }
        XCTAssertThrowsError(try JSONLDataset(contentsOf: folder.path, requireTarget: true)) {
            XCTAssertTrue("\($0)".contains("is a folder"), "\($0)")
        }
        XCTAssertThrowsError(try JSONLDataset(contentsOf: folder.file("missing.jsonl"), requireTarget: true)) {
            XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
        }
    }

    // MARK: - Random lines and Foundation's reading of them

    /// The example the Foundation reader made of `line` (a valid line of `randomLine`'s kinds).
    func foundationExample(_ line: String) throws -> Example {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        func numbers(_ value: Any) -> [Double] { (value as! [Any]).map { ($0 as! NSNumber).doubleValue } }
        let input: Example.Input
        if let s = object["input"] as? String {
            input = .text(s)
        } else if let rows = object["input"] as? [[Any]] {
            input = .sequence(rows.map { numbers($0).map { Float($0) } })
        } else {
            input = .vector(numbers(object["input"]!).map { Float($0) })
        }
        var target: Example.Target?
        switch object["target"] {
        case let s as String: target = .string(s)
        case let n as NSNumber: target = .number(n.doubleValue)
        case let a as [Any]: target = a.first is String ? .labels(a as! [String]) : .numbers(numbers(a))
        default: target = nil
        }
        // Foundation writes some non-integers in full ("-0.000000003367329849863612"); the ids
        // the old reader gave were that number as Swift prints it.
        let id = object["id"].map { value -> String in
            if let s = value as? String { return s }
            let n = value as! NSNumber
            return String(cString: n.objCType) == "d" ? Double(n.stringValue)!.description : n.stringValue
        }
        return Example(id: id, input: input, target: target, line: 1)
    }

    func randomLine(_ rng: inout SeededGenerator) -> String {
        var fields: [(String, String)] = []
        switch rng.nextInt(below: 3) {
        case 0: fields.append(("input", randomString(&rng, nonEmpty: true)))
        case 1:
            let (t, f) = (1 + rng.nextInt(below: 5), 1 + rng.nextInt(below: 6))
            fields.append(("input", array((0..<t).map { _ in array((0..<f).map { _ in randomNumber(&rng) }, &rng) }, &rng)))
        default: fields.append(("input", array((0..<(1 + rng.nextInt(below: 8))).map { _ in randomNumber(&rng) }, &rng)))
        }
        switch rng.nextInt(below: 6) {
        case 0: fields.append(("target", randomString(&rng, nonEmpty: false)))
        case 1: fields.append(("target", randomNumber(&rng)))
        case 2: fields.append(("target", array((0..<(1 + rng.nextInt(below: 4))).map { _ in randomNumber(&rng) }, &rng)))
        case 3: fields.append(("target", array((0..<(1 + rng.nextInt(below: 4))).map { _ in randomString(&rng, nonEmpty: false) }, &rng)))
        case 4: fields.append(("target", "null"))
        default: break
        }
        switch rng.nextInt(below: 4) {
        case 0: fields.append(("id", randomString(&rng, nonEmpty: false)))
        case 1: fields.append(("id", "\(rng.nextInt(below: 100_000))"))
        case 2: fields.append(("id", randomNumber(&rng)))
        default: break
        }
        if rng.nextInt(below: 2) == 0 {
            fields.append(("extra", "{\"a\": [true, false, null, {}, []], \"b\": {\"c\": \(randomString(&rng, nonEmpty: false))}}"))
        }
        for k in fields.indices.reversed() where rng.nextInt(below: 2) == 0 {
            fields.swapAt(k, rng.nextInt(below: k + 1))
        }
        let space = [" ", "", "\t", "  "]
        return space[rng.nextInt(below: 4)] + "{" + fields.map { "\"\($0.0)\"" + space[rng.nextInt(below: 4)] + ":" + space[rng.nextInt(below: 4)] + $0.1 }
            .joined(separator: "," + space[rng.nextInt(below: 4)]) + "}" + space[rng.nextInt(below: 4)]
    }

    func array(_ items: [String], _ rng: inout SeededGenerator) -> String {
        "[" + items.joined(separator: [",", ", ", " ,\t"][rng.nextInt(below: 3)]) + "]"
    }

    /// A JSON string literal of random characters, each written raw or escaped at random.
    func randomString(_ rng: inout SeededGenerator, nonEmpty: Bool) -> String {
        let pool: [Unicode.Scalar] = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{8}", "\u{C}", "\r", "\u{1}",
                                      "\u{7F}", "é", "ß", "中", "\u{1F600}", "\u{10FFFF}", "\u{FFFD}"]
        var out = "\""
        for _ in 0..<(rng.nextInt(below: 12) + (nonEmpty ? 1 : 0)) {
            let u = pool[rng.nextInt(below: pool.count)]
            let short: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "/": "\\/", "\n": "\\n", "\t": "\\t",
                                                   "\u{8}": "\\b", "\u{C}": "\\f", "\r": "\\r"]
            let mustEscape = u.value < 0x20 || u == "\"" || u == "\\"
            switch rng.nextInt(below: 3) {
            case 0 where !mustEscape: out.unicodeScalars.append(u)
            case 1 where short[u] != nil: out += short[u]!
            default:
                let units = Array(String(u).utf16)
                let hex = rng.nextInt(below: 2) == 0
                out += units.map { "\\u" + String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16, uppercase: hex) }.joined()
            }
        }
        return out + "\""
    }

    /// A number in one of JSON's forms, within Float's range.
    func randomNumber(_ rng: inout SeededGenerator) -> String {
        let x = (rng.nextDouble() - 0.5) * pow(10, Double(rng.nextInt(below: 24)) - 12)
        switch rng.nextInt(below: 6) {
        case 0: return "\(Int(x * 1000))"
        case 1: return String(format: "%.\(rng.nextInt(below: 8))f", x)
        case 2: return String(format: "%.\(rng.nextInt(below: 20))e", x)
        case 3: return String(format: "%.\(rng.nextInt(below: 6))E", x).replacingOccurrences(of: "E+", with: "E")
        case 4: return "\(x)"
        default: return (x < 0 ? "-" : "") + "0.000" + String((0..<(1 + rng.nextInt(below: 25))).map { _ in Character(String(rng.nextInt(below: 10))) })
        }
    }
}
