/// A CSV file (RFC 4180) in memory: its header and its rows of text fields, each row with the
/// line it starts on, so a later check can point into the file as an editor shows it.
///
/// The language: the first record is the header (required, names unique and not empty); fields
/// are separated by commas; a field in double quotes may hold commas, line ends and `""` (one
/// quote); records end in "\n" or "\r\n"; a UTF-8 byte order mark at the start is skipped; blank
/// lines are skipped; a last record without a line end is still a record. Every record must have
/// as many fields as the header. Anything else — a ragged row, an unterminated quote, text after a
/// closing quote, a byte that is not UTF-8 — throws `RecurrentError.invalidFile` as
/// "FILE:LINE: what was wrong", one line.
public struct CSVTable: Sendable, Equatable {
    /// The file's name as messages show it ("<stdin>" for standard input).
    public let path: String
    /// The column names, in file order.
    public let header: [String]
    /// The records after the header, each with `header.count` fields.
    public let rows: [[String]]
    /// The 1-based line each record of `rows` starts on.
    public let lines: [Int]

    /// Reads the CSV file at `path` ("-": standard input).
    /// - Throws: `RecurrentError.io` for an unreadable file; `RecurrentError.invalidFile` as
    ///   "FILE:LINE: what was wrong" for a bad record, or when the file is empty.
    public init(contentsOf path: String) throws {
        let data = try readFile(path, expected: "a CSV file")
        try self.init(bytes: Array(data), path: path == "-" ? "<stdin>" : path)
    }

    /// Parses `text` as the contents of the CSV file `path` (which only names it in messages).
    public init(text: String, path: String = "<text>") throws {
        try self.init(bytes: Array(text.utf8), path: path)
    }

    /// Parses `bytes` as the contents of the CSV file `path` (which only names it in messages).
    /// - Throws: `RecurrentError.invalidFile` as "FILE:LINE: what was wrong".
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        var parser = CSVParser(bytes: bytes, path: path)
        guard let first = try parser.nextRecord() else {
            throw RecurrentError.invalidFile(path: path, reason: "the file is empty; expected a header row")
        }
        var seen = Set<String>()
        for name in first.fields {
            guard !name.isEmpty else {
                throw RecurrentError.invalidFile(path: "\(path):\(first.line)", reason: "the header has an empty column name")
            }
            guard seen.insert(name).inserted else {
                throw RecurrentError.invalidFile(path: "\(path):\(first.line)", reason: "the header names column '\(name)' twice")
            }
        }
        header = first.fields
        var rows: [[String]] = [], lines: [Int] = []
        while let record = try parser.nextRecord() {
            guard record.fields.count == header.count else {
                throw RecurrentError.invalidFile(path: "\(path):\(record.line)",
                    reason: "has \(record.fields.count) fields, the header has \(header.count)")
            }
            rows.append(record.fields)
            lines.append(record.line)
        }
        self.rows = rows
        self.lines = lines
    }

    /// The index of the column `name`.
    /// - Throws: `RecurrentError.invalidArgument` naming the columns there are.
    public func columnIndex(_ name: String) throws -> Int {
        guard let k = header.firstIndex(of: name) else {
            throw RecurrentError.invalidArgument(name: "column", value: name,
                expected: "one of the header's columns in \(path): \(header.joined(separator: ", "))")
        }
        return k
    }

    /// The fields of column `name`, one per row.
    public func column(_ name: String) throws -> [String] {
        let k = try columnIndex(name)
        return rows.map { $0[k] }
    }

    /// Column `name` as numbers; an empty field (after trimming spaces) is `nil`, a missing value.
    /// - Throws: `RecurrentError.invalidFile` as "FILE:LINE: column 'NAME' is 'TEXT', expected a
    ///   number" for a field that is neither empty nor a finite number.
    public func numbers(_ name: String) throws -> [Double?] {
        let k = try columnIndex(name)
        return try rows.indices.map { r in
            let text = rows[r][k].trimmedOfSpaces()
            if text.isEmpty { return nil }
            guard let x = Double(text), x.isFinite else {
                throw RecurrentError.invalidFile(path: "\(path):\(lines[r])",
                    reason: "column '\(name)' is '\(rows[r][k])', expected a number")
            }
            return x
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmedOfSpaces() -> String {
        let drop: Set<Character> = [" ", "\t"]
        guard let start = firstIndex(where: { !drop.contains($0) }) else { return "" }
        let end = lastIndex(where: { !drop.contains($0) })!
        return String(self[start...end])
    }
}

/// Splits bytes into CSV records, one at a time.
struct CSVParser {
    let bytes: [UInt8]
    let path: String
    private var i = 0
    /// The line the next byte is on.
    private var line = 1

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    /// The next non-blank record and the line it starts on, or `nil` at the end.
    mutating func nextRecord() throws -> (fields: [String], line: Int)? {
        // Blank lines ("\n" or "\r\n" alone) are skipped.
        while i < bytes.count {
            if bytes[i] == 0x0A { i += 1; line += 1 }
            else if bytes[i] == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 2; line += 1 }
            else { break }
        }
        guard i < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        while true {
            fields.append(try field(recordLine: start))
            guard i < bytes.count else { return (fields, start) }
            switch bytes[i] {
            case 0x2C: i += 1
            case 0x0A: i += 1; line += 1; return (fields, start)
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A: i += 2; line += 1; return (fields, start)
            default: throw error("a lone carriage return (\\r) outside quotes", at: line)
            }
        }
    }

    /// One field, quoted or not, up to (not including) its separator or line end.
    private mutating func field(recordLine: Int) throws -> String {
        var text: [UInt8] = []
        if i < bytes.count && bytes[i] == 0x22 {
            let opened = line
            i += 1
            while true {
                guard i < bytes.count else {
                    throw error("a quoted field opened here is never closed (unterminated quote)", at: opened)
                }
                let b = bytes[i]
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { text.append(0x22); i += 2; continue }
                    i += 1
                    break
                }
                if b == 0x0A { line += 1 }
                text.append(b)
                i += 1
            }
            if i < bytes.count && bytes[i] != 0x2C && bytes[i] != 0x0A && bytes[i] != 0x0D {
                throw error("text after a closing quote; a quote inside a quoted field is written \"\"", at: line)
            }
        } else {
            while i < bytes.count, bytes[i] != 0x2C, bytes[i] != 0x0A, bytes[i] != 0x0D {
                if bytes[i] == 0x22 { throw error("a quote inside an unquoted field; quote the whole field and write \"\" for a quote", at: line) }
                text.append(bytes[i])
                i += 1
            }
        }
        guard let string = String(validating: text, as: UTF8.self) else {
            throw error("not UTF-8 text (save the file as UTF-8)", at: line)
        }
        return string
    }

    private func error(_ reason: String, at line: Int) -> RecurrentError {
        RecurrentError.invalidFile(path: "\(path):\(line)", reason: reason)
    }
}
