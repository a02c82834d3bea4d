import Foundation

/// Buffers of a `Seq2SeqModel`'s forward/backward pair, grown on demand and reused across
/// batches.
public final class Seq2SeqWorkspace: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case sourceEmbedded, encoderOutput, encoderFinal, projected, initialState
        case targetEmbedded, decoderOutput, attended, dropoutMask, headInput, logits, logitsGradient
        case headInputGradient, decoderOutputGradient, encoderOutputGradient, targetEmbeddedGradient
        case initialStateGradient, encoderFinalGradient, sourceEmbeddedGradient, projectedGradient
    }
    let buffers = GrowingBuffers<Slot>()
    let encoder = RecurrentStackWorkspace()
    let decoder = RecurrentStackWorkspace()
    let attention = AttentionWorkspace()
    var shape = (b: 0, s: 0, t: 0)
    var vocabulary = 0
    var dropoutActive = false
    var hasForward = false
    /// `loss` ran after the last forward: ∂L/∂logits is in place for backward.
    var hasLoss = false
    /// Targets counted by the last `forward` (those ≥ 0).
    public internal(set) var tokenCount = 0

    /// An empty workspace; buffers grow to the largest batch they meet.
    public init() {}

    /// A copy of the last `forward`'s logits (B, T, Vt).
    public var logits: [Float] {
        Array(UnsafeBufferPointer(start: buffers(.logits, 0), count: shape.b * shape.t * vocabulary))
    }
}
