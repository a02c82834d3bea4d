/// How text is cut into tokens.
public enum Tokenization: String, Sendable, CaseIterable {
    /// Every Unicode scalar is a token.
    case char
    /// Whitespace-separated words.
    case word

    /// `text` split into tokens as this vocabulary's tokenisation does.
    public func tokens(_ text: String) -> [String] {
        switch self {
        case .char: return text.unicodeScalars.map { String($0) }
        case .word: return text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        }
    }

    /// `text`'s words with punctuation apart: each run of letters, digits and combining marks is a
    /// token, and every other character but whitespace is a token of its own ("Don't!" → "Don",
    /// "'", "t", "!").
    public static func wordsAndPunctuation(_ text: String) -> [String] {
        var tokens: [String] = [], word = ""
        for c in text {
            if c.isLetter || c.isNumber || c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .nonspacingMark }) {
                word.append(c)
                continue
            }
            if !word.isEmpty { tokens.append(word); word = "" }
            if !c.isWhitespace { tokens.append(String(c)) }
        }
        if !word.isEmpty { tokens.append(word) }
        return tokens
    }

    /// Joins tokens back into text.
    public func join(_ tokens: [String]) -> String { tokens.joined(separator: self == .char ? "" : " ") }
}

/// A token vocabulary with reserved entries first: `<unk>` (id 0) for tokens never seen in
/// training, and, for sequences to generate, `<bos>` and `<eos>`. The other tokens follow,
/// sorted, so the same data gives the same ids.
public struct TokenVocabulary: Sendable, Equatable {
    public static let unknown = "<unk>", begin = "<bos>", end = "<eos>"
    public let tokens: [String]
    private let index: [String: Int32]

    /// From the tokens of a training set.
    public init<S: Sequence>(building tokens: S, withBoundaries: Bool) where S.Element == String {
        let reserved = withBoundaries ? [Self.unknown, Self.begin, Self.end] : [Self.unknown]
        let rest = Set(tokens).subtracting(reserved).sorted()
        self.init(uncheckedTokens: reserved + rest)
    }

    /// From a checkpoint.
    /// - Throws: `RecurrentError.invalidArgument` for repeated tokens or a missing `<unk>` first.
    public init(tokens: [String]) throws {
        try require(tokens.first == Self.unknown, .invalidArgument(name: "vocabulary", value: tokens.first ?? "empty",
                                                                  expected: "\(Self.unknown) first"))
        try require(Set(tokens).count == tokens.count, .invalidArgument(name: "vocabulary", value: "\(tokens.count) tokens",
                                                                        expected: "no repeated token"))
        self.init(uncheckedTokens: tokens)
    }

    private init(uncheckedTokens: [String]) {
        tokens = uncheckedTokens
        var index: [String: Int32] = [:]
        for (i, t) in uncheckedTokens.enumerated() { index[t] = Int32(i) }
        self.index = index
    }

    /// Vocabularies are equal when their tokens are, in order.
    public static func == (a: TokenVocabulary, b: TokenVocabulary) -> Bool { a.tokens == b.tokens }

    public var count: Int { tokens.count }
    public var beginID: Int32? { index[Self.begin] }
    public var endID: Int32? { index[Self.end] }

    /// The id of `token`, `<unk>` (0) when unseen.
    public func id(_ token: String) -> Int32 { index[token] ?? 0 }
    /// Whether `token` has an id.
    public func contains(_ token: String) -> Bool { index[token] != nil }
    /// The token with id `id` (in 0..<count).
    public func token(_ id: Int32) -> String { tokens[Int(id)] }
}
