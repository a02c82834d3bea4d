import Foundation

/// A teacher-forced training batch: the source, the decoder's input (B, T) and the targets
/// (B, T) it should predict at each step.
public struct Seq2SeqBatch: Sendable, Equatable {
    public var source: Seq2SeqSource
    /// T.
    public var targetSteps: Int
    /// (B, T) decoder input ids, usually [BOS, y_1, …]; negative ids are padding (a zero vector).
    public var targetInput: [Int32]
    /// (B, T) the next token at each step, usually [y_1, …, EOS]; negative ids are ignored.
    public var targets: [Int32]

    public var batch: Int { source.batch }

    /// A batch from decoder inputs and targets already laid out (B, T), targets −1 where not counted.
    public init(source: Seq2SeqSource, targetInput: [Int32], targets: [Int32], targetSteps: Int) {
        self.source = source
        self.targetInput = targetInput
        self.targets = targets
        self.targetSteps = targetSteps
    }

    /// Builds the teacher-forced pair from target sequences (without BOS/EOS): input
    /// [BOS, y_1, …, y_n], targets [y_1, …, y_n, EOS], padded with −1 to T = longest n + 1.
    public init(source: Seq2SeqSource, targetSequences: [[Int32]], bos: Int32, eos: Int32) {
        let t = (targetSequences.map(\.count).max() ?? 0) + 1
        var input = [Int32](repeating: -1, count: targetSequences.count * t)
        var targets = input
        for (r, y) in targetSequences.enumerated() {
            input[r * t] = bos
            for (i, id) in y.enumerated() {
                input[r * t + i + 1] = id
                targets[r * t + i] = id
            }
            targets[r * t + y.count] = eos
        }
        self.init(source: source, targetInput: input, targets: targets, targetSteps: t)
    }
}
