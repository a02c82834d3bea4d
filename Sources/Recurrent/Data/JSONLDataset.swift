/// One example of a JSON Lines dataset: `{"input": ..., "target": ..., "id": ...}` on one line.
public struct Example: Sendable, Equatable {
    public enum Input: Sendable, Equatable {
        /// A string, tokenised as characters or words.
        case text(String)
        /// Time steps × features.
        case sequence([[Float]])
        /// One feature vector (the input of a one-to-many task).
        case vector([Float])
    }

    public enum Target: Sendable, Equatable {
        /// A string: a class label, or a sequence to produce (seq2seq, captions).
        case string(String)
        /// A number (regression; a class label when the task classifies).
        case number(Double)
        /// Numbers (multi-output regression).
        case numbers([Double])
        /// One label per input step (tagging).
        case labels([String])
    }

    public var id: String?
    public var input: Input
    public var target: Target?
    /// 1-based line in its file.
    public var line: Int

    /// An example in memory (`line` numbers it in messages).
    public init(id: String? = nil, input: Input, target: Target? = nil, line: Int = 1) {
        self.id = id
        self.input = input
        self.target = target
        self.line = line
    }
}

/// How a reader treats a bad line.
public enum OnError: String, Sendable, CaseIterable { case stop, skip }

/// The examples of a JSONL file, and the lines skipped with their reasons.
public struct JSONLDataset: Sendable {
    public var examples: [Example]
    public var skipped: [(line: Int, reason: String)]
    public let path: String

    /// Reads `path` ("-": standard input), one JSON object per non-blank line, streamed in chunks of bytes (see
    /// `JSONLineParser`). Lines end in "\n" or "\r\n"; a UTF-8 byte order mark is skipped.
    /// - Parameters:
    ///   - requireTarget: every example must have a "target" (training and evaluation).
    ///   - onError: `.stop` throws at the first bad line; `.skip` counts it and goes on.
    /// - Throws: `RecurrentError.io` for an unreadable file; `RecurrentError.invalidFile` as
    ///   "FILE:LINE: what was wrong", or when the file is empty or no example is left.
    public init(contentsOf path: String, requireTarget: Bool, onError: OnError = .stop) throws {
        // "-" reads standard input, named so in messages.
        let name = path == "-" ? "<stdin>" : path
        var reader = Reader(path: name, requireTarget: requireTarget, onError: onError)
        let size = try LineReader.forEachLine(path: path) { try reader.read($0, line: $1) }
        guard size > 0 else { throw RecurrentError.invalidFile(path: name, reason: "the file is empty") }
        try self.init(reader)
    }

    /// Parses `text` as the contents of the JSONL file `path` (which only names it in errors).
    package init(text: String, path: String, requireTarget: Bool, onError: OnError = .stop) throws {
        try self.init(bytes: Array(text.utf8), path: path, requireTarget: requireTarget, onError: onError)
    }

    /// Parses `bytes` as the contents of the JSONL file `path` (which only names it in errors).
    init(bytes: [UInt8], path: String, requireTarget: Bool, onError: OnError = .stop) throws {
        var reader = Reader(path: path, requireTarget: requireTarget, onError: onError)
        try bytes.withUnsafeBufferPointer { buffer in
            try LineReader.forEachLine(in: buffer) { try reader.read($0, line: $1) }
        }
        try self.init(reader)
    }

    /// The examples `reader` collected.
    /// - Throws: `RecurrentError.invalidFile` when there are none.
    private init(_ reader: Reader) throws {
        guard !reader.examples.isEmpty else {
            throw RecurrentError.invalidFile(path: reader.path, reason: reader.skipped.isEmpty
                ? "no examples" : "no valid examples (\(reader.skipped.count) lines skipped)")
        }
        path = reader.path
        examples = reader.examples
        skipped = reader.skipped
    }

    /// A bad line: what was wrong, without the file and line.
    struct LineError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// Collects examples line by line, checking that every example agrees with the first on
    /// feature count and target kind.
    private struct Reader {
        let path: String
        let requireTarget: Bool
        let onError: OnError
        var examples: [Example] = []
        var skipped: [(line: Int, reason: String)] = []
        var featureCount: Int?
        var targetKind: String?

        init(path: String, requireTarget: Bool, onError: OnError) {
            self.path = path
            self.requireTarget = requireTarget
            self.onError = onError
        }

        /// Takes one line (without its line end); blank lines are skipped.
        /// - Throws: `RecurrentError.invalidFile` as "FILE:LINE: what was wrong" when `onError` is `.stop`.
        mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
            do {
                var parser = JSONLineParser(bytes)
                let example = try parser.example(line: line, requireTarget: requireTarget)
                if let f = example.input.featureCount {
                    if let expected = featureCount, expected != f {
                        throw LineError("has \(f) features per step, the first example has \(expected)")
                    }
                    featureCount = featureCount ?? f
                }
                if let kind = example.target?.kind {
                    if let expected = targetKind, expected != kind {
                        throw LineError("target is \(kind), the first example's is \(expected) (mixed target kinds)")
                    }
                    targetKind = targetKind ?? kind
                }
                examples.append(example)
            } catch let error as LineError {
                if onError == .stop {
                    throw RecurrentError.invalidFile(path: "\(path):\(line)", reason: "\(error.message) (use --on-error skip to skip bad lines)")
                }
                skipped.append((line, error.message))
            }
        }
    }
}

extension Example.Input {
    /// Features per step for numeric inputs.
    var featureCount: Int? {
        switch self {
        case .text: return nil
        case let .sequence(rows): return rows[0].count
        case let .vector(v): return v.count
        }
    }
}

extension Example.Target {
    /// A name for the kind, for "mixed target kinds" errors.
    var kind: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .numbers: return "an array of numbers"
        case .labels: return "an array of labels"
        }
    }
}
