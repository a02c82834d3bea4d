import Foundation

/// A character vocabulary: token id ↔ Unicode scalar. Built from a text, its symbols are the
/// text's distinct scalars sorted by code point (char-rnn's and nanoGPT's convention).
public struct Vocabulary: Sendable, Equatable {
    /// One string per token id, each a single Unicode scalar.
    public let symbols: [String]
    private let scalars: [Unicode.Scalar]
    private let index: [Unicode.Scalar: Int32]

    public var count: Int { symbols.count }

    /// The distinct scalars of `text`, sorted by code point.
    public init(text: String) {
        let distinct = Set(text.unicodeScalars).sorted { $0.value < $1.value }
        self.init(uncheckedScalars: distinct)
    }

    private init(uncheckedScalars: [Unicode.Scalar]) {
        scalars = uncheckedScalars
        symbols = uncheckedScalars.map { String($0) }
        var index: [Unicode.Scalar: Int32] = [:]
        for (i, s) in uncheckedScalars.enumerated() { index[s] = Int32(i) }
        self.index = index
    }

    /// A vocabulary from stored symbols (a checkpoint's config).
    /// - Throws: `RecurrentError.invalidArgument` unless every symbol is one scalar and no symbol repeats.
    public init(symbols: [String]) throws {
        var list: [Unicode.Scalar] = []
        for (i, s) in symbols.enumerated() {
            let u = Array(s.unicodeScalars)
            try require(u.count == 1, .invalidArgument(name: "vocabulary entry \(i)", value: s,
                                                       expected: "exactly one Unicode scalar"))
            list.append(u[0])
        }
        try require(Set(list).count == list.count, .invalidArgument(name: "vocabulary", value: "\(symbols.count) entries",
                                                                    expected: "no repeated symbol"))
        try require(!list.isEmpty, .invalidArgument(name: "vocabulary", value: "empty", expected: "at least one symbol"))
        self.init(uncheckedScalars: list)
    }

    /// Vocabularies are equal when their symbols are, in order.
    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.symbols == b.symbols }

    /// The id of `scalar`, if it is in the vocabulary.
    public func id(of scalar: Unicode.Scalar) -> Int32? { index[scalar] }

    /// The symbol with id `id` (in 0..<count).
    public func symbol(_ id: Int32) -> Unicode.Scalar { scalars[Int(id)] }

    /// Token ids of `text`, one per Unicode scalar.
    /// - Throws: `RecurrentError.invalidArgument` naming the first scalar not in the vocabulary
    ///   and its position (counted in Unicode scalars from 0).
    public func encode(_ text: String, source: String = "text") throws -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.unicodeScalars.count)
        for (position, s) in text.unicodeScalars.enumerated() {
            guard let id = index[s] else {
                throw RecurrentError.invalidArgument(
                    name: "character in \(source) at position \(position)",
                    value: "\(Vocabulary.describe(s))",
                    expected: "one of the model's \(count) characters")
            }
            ids.append(id)
        }
        return ids
    }

    /// A scalar for messages: "é (U+00E9)", or just "U+000A" for controls and spaces.
    public static func describe(_ s: Unicode.Scalar) -> String {
        let code = String(format: "U+%04X", s.value)
        switch s.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return code
        default:
            return "\(s) (\(code))"
        }
    }
}

/// Reading a training or scoring text file.
public enum TextFile {
    /// The file's text.
    /// - Throws: `RecurrentError.io` for a missing or unreadable file, or a folder; `RecurrentError.invalidFile`
    ///   for an empty file, one with NUL bytes (binary), or one that is not UTF-8.
    public static func read(_ path: String) throws -> String {
        let data = try readFile(path, expected: "a text file")
        guard !data.isEmpty else { throw RecurrentError.invalidFile(path: path, reason: "the file is empty") }
        if let nul = data.firstIndex(of: 0) {
            throw RecurrentError.invalidFile(path: path, reason: "binary data (a NUL byte at offset \(nul - data.startIndex)); expected UTF-8 text")
        }
        guard let text = String(validatingUTF8: data) else {
            throw RecurrentError.invalidFile(path: path, reason: "not valid UTF-8 text (at byte \(firstInvalidUTF8(data)))")
        }
        return text
    }

    /// Offset of the first byte that breaks UTF-8 decoding.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var offset = 0
        while case let .scalarValue(s) = decoder.decode(&iterator) { offset += UTF8.width(s) }
        return offset
    }
}

extension String {
    /// Decodes UTF-8 strictly: nil when `data` is not valid UTF-8.
    init?(validatingUTF8 data: Data) {
        var scalars = String.UnicodeScalarView()
        var decoder = UTF8()
        var iterator = data.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(s): scalars.append(s)
            case .emptyInput: self = String(scalars); return
            case .error: return nil
            }
        }
    }
}
