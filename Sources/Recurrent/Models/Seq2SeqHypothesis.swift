import Foundation

/// One decoded sequence.
public struct Seq2SeqHypothesis: Sendable, Equatable {
    /// The generated ids, without BOS and EOS.
    public var tokens: [Int32]
    /// Σ log softmax of every chosen token, EOS included when reached.
    public var logProbability: Float
    /// False when decoding stopped at the maximum length.
    public var reachedEOS: Bool

    /// A decoded sequence and its score.
    public init(tokens: [Int32], logProbability: Float, reachedEOS: Bool) {
        self.tokens = tokens
        self.logProbability = logProbability
        self.reachedEOS = reachedEOS
    }
}
