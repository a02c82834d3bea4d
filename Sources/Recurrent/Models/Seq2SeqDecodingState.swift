import Foundation

/// What `Seq2SeqModel.decodeStep` carries between steps for B rows: the decoder's recurrent
/// state (L, B, S_dec), the encoder outputs (B, S, Hd) and their attention keys, and one
/// step's buffers, all sized once.
public final class Seq2SeqDecodingState: @unchecked Sendable {
    /// B.
    public let batch: Int
    /// S (0 for captions).
    public let sourceSteps: Int
    /// The decoder's state (L, B, S_dec), advanced by every step.
    public internal(set) var recurrent: RecurrentState
    /// e (B, S, Hd); empty without attention.
    let encoderOutput: [Float]
    let lengths: [Int32]
    let attention = AttentionWorkspace()
    let stepWorkspace = StepWorkspace()
    var embedded: [Float], decoded: [Float], attended: [Float]
    /// α of the last step (B, S); empty without attention.
    public internal(set) var attentionWeights: [Float]

    init(recurrent: RecurrentState, encoderOutput: [Float], lengths: [Int32], sourceSteps: Int, embeddingSize: Int,
         hiddenSize: Int, attends: Bool) {
        batch = recurrent.batch
        self.sourceSteps = sourceSteps
        self.recurrent = recurrent
        self.encoderOutput = encoderOutput
        self.lengths = lengths
        embedded = [Float](repeating: 0, count: batch * embeddingSize)
        decoded = [Float](repeating: 0, count: batch * hiddenSize)
        attended = attends ? [Float](repeating: 0, count: batch * hiddenSize) : []
        attentionWeights = attends ? [Float](repeating: 0, count: batch * sourceSteps) : []
    }
}
