import Foundation

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

    /// Reads `path`, one JSON object per non-blank line.
    /// - Parameters:
    ///   - requireTarget: every example must have a "target" (training and evaluation).
    ///   - onError: `.stop` throws at the first bad line; `.skip` counts it and goes on.
    /// - Throws: `RecurrentError.io` for an unreadable file; `RecurrentError.invalidFile` as
    ///   "FILE:LINE: what was wrong", or when no example is left.
    public init(contentsOf path: String, requireTarget: Bool, onError: OnError = .stop) throws {
        try self.init(text: TextFile.read(path), path: path, requireTarget: requireTarget, onError: onError)
    }

    /// Parses `text` as the contents of the JSONL file `path` (which only names it in errors).
    init(text: String, path: String, requireTarget: Bool, onError: OnError = .stop) throws {
        self.path = path
        examples = []
        skipped = []
        var featureCount: Int?
        var targetKind: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            do {
                let example = try Self.parse(trimmed, line: line, requireTarget: requireTarget)
                // Every example must agree with the first on feature count and target kind.
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
        guard !examples.isEmpty else {
            throw RecurrentError.invalidFile(path: path, reason: skipped.isEmpty ? "no examples" : "no valid examples (\(skipped.count) lines skipped)")
        }
    }

    struct LineError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    static func parse(_ line: String, line number: Int, requireTarget: Bool) throws -> Example {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else {
            throw LineError("not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw LineError("not a JSON object") }
        guard let input = dict["input"] else { throw LineError("no \"input\"") }
        let parsedInput = try parseInput(input)
        var target: Example.Target?
        if let t = dict["target"], !(t is NSNull) {
            target = try parseTarget(t)
        } else if requireTarget {
            throw LineError("no \"target\"")
        }
        var id: String?
        if let i = dict["id"] {
            if let s = i as? String { id = s } else if let n = i as? NSNumber, !isBool(n) { id = n.stringValue } else {
                throw LineError("\"id\" must be a string or a number")
            }
        }
        return Example(id: id, input: parsedInput, target: target, line: number)
    }

    /// JSON true/false arrive as NSNumber too; Foundation gives them their own class (and
    /// the Objective-C type "c" for char), which tells them apart from 1 and 0.
    static func isBool(_ n: NSNumber) -> Bool {
        String(describing: type(of: n)).contains("Boolean") || String(cString: n.objCType) == "c"
    }

    /// A JSON number that stays finite as Float32 (inputs and targets become Float32: 1e39
    /// would turn into infinity, and the model's statistics into NaN).
    static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber, !isBool(n) else { return nil }
        let d = n.doubleValue
        return d.isFinite && abs(d) <= Double(Float.greatestFiniteMagnitude) ? d : nil
    }

    static func parseInput(_ value: Any) throws -> Example.Input {
        if let s = value as? String {
            guard !s.isEmpty else { throw LineError("\"input\" is empty") }
            return .text(s)
        }
        guard let array = value as? [Any] else { throw LineError("\"input\" must be a string, an array of numbers, or an array of arrays of numbers") }
        guard !array.isEmpty else { throw LineError("\"input\" is empty") }
        if array.allSatisfy({ $0 is [Any] }) {
            var rows: [[Float]] = []
            for (t, row) in array.enumerated() {
                let values = (row as! [Any]).map(number)
                guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                    throw LineError("\"input\" step \(t) must be a non-empty array of finite numbers")
                }
                guard rows.isEmpty || values.count == rows[0].count else {
                    throw LineError("\"input\" step \(t) has \(values.count) features, step 0 has \(rows[0].count)")
                }
                rows.append(values.map { Float($0!) })
            }
            return .sequence(rows)
        }
        let values = array.map(number)
        guard values.allSatisfy({ $0 != nil }) else {
            throw LineError("\"input\" must be a string, an array of numbers, or an array of arrays of numbers")
        }
        return .vector(values.map { Float($0!) })
    }

    static func parseTarget(_ value: Any) throws -> Example.Target {
        if let s = value as? String { return .string(s) }
        if let d = number(value) { return .number(d) }
        if let array = value as? [Any] {
            guard !array.isEmpty else { throw LineError("\"target\" is empty") }
            if array.allSatisfy({ $0 is String }) { return .labels(array as! [String]) }
            let values = array.map(number)
            if values.allSatisfy({ $0 != nil }) { return .numbers(values.map { $0! }) }
        }
        throw LineError("\"target\" must be a string, a number, an array of numbers, or an array of labels")
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
