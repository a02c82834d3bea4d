/// One step of a recurrent network, h_t = f_W(h_{t−1}, x_t), with the same weights at every
/// step. `RecurrentLayer` unrolls any cell over a sequence.
///
/// The input half of every cell is affine, p_t = x_t·W_ihᵀ + b_ih, so the layer computes it for
/// all B·T rows at once with one GEMM outside the time loop; the cell's `forward` then does
/// the recurrent part of one step for a batch of B rows.
///
/// Letters: B batch, D input, H output (hidden) width, S state width (H for RNN and GRU, 2H
/// for LSTM), P projection width (G·H for G gates). Per-step blocks are row-strided: row b of
/// a block starts at `base + b·stride`.
public protocol RecurrentCell: Sendable {
    /// D.
    var inputSize: Int { get }
    /// H: the width of each step's output.
    var outputSize: Int { get }
    /// S: the width of the state carried between steps.
    var stateSize: Int { get }
    /// P: the width of the input projection.
    var projectionSize: Int { get }
    /// Scalars per batch row that `forward` keeps for `backward`, besides the states.
    var cacheSize: Int { get }
    /// Scalars per batch row of scratch that either pass may overwrite.
    var scratchSize: Int { get }
    /// W_ih (P, D).
    var inputWeight: Parameter { get }
    /// b_ih (P), if the cell has one.
    var inputBias: Parameter? { get }

    /// One step forward for B rows.
    /// - Parameters:
    ///   - projection: p_t (B, P), stride `projectionStride`; the cell may overwrite it with
    ///     its pre-activations.
    ///   - previous: state_{t−1} (B, S), contiguous.
    ///   - state: state_t (B, S), contiguous, written.
    ///   - output: y_t (B, H), stride `outputStride`, written.
    ///   - cache: (B, cacheSize), written.
    ///   - scratch: (B, scratchSize).
    func forward(projection: UnsafeMutablePointer<Float>, projectionStride: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena)

    /// Backward of `forward`, same argument order. Accumulates the recurrent parameters'
    /// gradients into the arena.
    /// - Parameters:
    ///   - projectionGradient: ∂L/∂p_t (B, P), stride `projectionStride`, written.
    ///   - previous, state, cache: as `forward` left them.
    ///   - stateGradient: on entry ∂L/∂state_t from later steps (B, S); on return ∂L/∂state_{t−1}.
    ///   - outputGradient: ∂L/∂y_t (B, H), stride `outputStride`.
    func backward(projectionGradient: UnsafeMutablePointer<Float>, projectionStride: Int,
                  previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                  outputGradient: UnsafePointer<Float>, outputStride: Int,
                  cache: UnsafePointer<Float>, stateGradient: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena)
}
