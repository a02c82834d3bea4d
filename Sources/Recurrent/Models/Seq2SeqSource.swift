import Foundation

/// The source side of a batch: B token sequences padded to S steps with their lengths, or B
/// feature vectors.
public struct Seq2SeqSource: Sendable, Equatable {
    /// B.
    public let batch: Int
    /// S: padded source steps (0 for features).
    public let steps: Int
    /// (B, S) token ids; positions at or past a row's length are padding and never read.
    public let tokens: [Int32]
    /// (B) valid steps per row, each in 0...S (empty for features).
    public let lengths: [Int32]
    /// (B, F) for a feature source (empty for tokens).
    public let features: [Float]

    /// Token sequences (B, S); `lengths` nil means every row has all S steps.
    public init(tokens: [Int32], batch: Int, steps: Int, lengths: [Int32]? = nil) {
        self.batch = batch
        self.steps = steps
        self.tokens = tokens
        self.lengths = lengths ?? [Int32](repeating: Int32(steps), count: batch)
        features = []
    }

    /// One feature vector per example: (B, F).
    public init(features: [Float], batch: Int) {
        self.batch = batch
        steps = 0
        tokens = []
        lengths = []
        self.features = features
    }

    /// Pads variable-length token sequences with `padding` to the longest one.
    public init(sequences: [[Int32]], padding: Int32 = 0) {
        let s = max(1, sequences.map(\.count).max() ?? 1)
        var tokens = [Int32](repeating: padding, count: sequences.count * s)
        for (r, sequence) in sequences.enumerated() {
            for (i, id) in sequence.enumerated() { tokens[r * s + i] = id }
        }
        self.init(tokens: tokens, batch: sequences.count, steps: s, lengths: sequences.map { Int32($0.count) })
    }
}
