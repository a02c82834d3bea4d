/// A cell unrolled over whole sequences, trained by backpropagation through time.
///
/// Forward: P = X·W_ihᵀ + b_ih for all B·T rows in one GEMM, then for t = 0..<T the cell's
/// recurrent step. Backward: the steps in reverse, then one GEMM each for ∂W_ih and ∂X over
/// all rows. Sequences are batch-first: x (B, T, D), y (B, T, H); states are (B, S).
public struct RecurrentLayer<Cell: RecurrentCell>: Sendable {
    public let cell: Cell

    public init(cell: Cell) { self.cell = cell }

    public var inputSize: Int { cell.inputSize }
    public var outputSize: Int { cell.outputSize }
    public var stateSize: Int { cell.stateSize }

    /// Runs the sequence forward and keeps in `workspace` what `backward` needs.
    /// - Parameters:
    ///   - input: x (B, T, D).
    ///   - initialState: state_0 (B, S); nil means zeros.
    ///   - output: y (B, T, H), written.
    ///   - finalState: state_T (B, S), written when given.
    public func forward(input x: UnsafePointer<Float>, batch: Int, steps: Int,
                        initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                        finalState: UnsafeMutablePointer<Float>?, workspace ws: RecurrentWorkspace,
                        arena: ParameterArena) {
        let (d, p, s, h) = (cell.inputSize, cell.projectionSize, cell.stateSize, cell.outputSize)
        ws.prepare(for: cell, batch: batch, steps: steps)
        // P (B·T, P) = X (B·T, D)·W_ihᵀ + b_ih: the input half of every step in one GEMM.
        GEMM.multiply(transB: true, m: batch * steps, n: p, k: d, a: x, lda: d,
                      b: arena.value(cell.inputWeight), ldb: d, beta: 0, c: ws.projections, ldc: p)
        if let bias = cell.inputBias {
            Elementwise.addBias(arena.value(bias), rows: batch * steps, cols: p, to: ws.projections, ld: p)
        }
        if let initialState {
            ws.state(0).update(from: initialState, count: batch * s)
        } else {
            ws.state(0).update(repeating: 0, count: batch * s)
        }
        for t in 0..<steps {
            cell.forward(projection: ws.projections + t * p, projectionStride: steps * p,
                         previous: ws.state(t), state: ws.state(t + 1),
                         output: y + t * h, outputStride: steps * h,
                         cache: ws.cache(t), scratch: ws.scratch, batch: batch, arena: arena)
        }
        finalState?.update(from: ws.state(steps), count: batch * s)
    }

    /// Backward of `forward`, same argument order; call it after `forward` with the same
    /// workspace. Parameter gradients accumulate into the arena; `inputGradient` (B, T, D) and
    /// `initialStateGradient` (B, S) accumulate (+=) when given.
    /// - Parameters:
    ///   - outputGradient: ∂L/∂y (B, T, H).
    ///   - finalStateGradient: ∂L/∂state_T (B, S); nil means zeros.
    public func backward(input x: UnsafePointer<Float>, batch: Int, steps: Int,
                         outputGradient dy: UnsafePointer<Float>,
                         finalStateGradient: UnsafePointer<Float>?,
                         inputGradient dx: UnsafeMutablePointer<Float>?,
                         initialStateGradient: UnsafeMutablePointer<Float>?,
                         workspace ws: RecurrentWorkspace, arena: ParameterArena) {
        let (d, p, s, h) = (cell.inputSize, cell.projectionSize, cell.stateSize, cell.outputSize)
        precondition(ws.batch == batch && ws.steps == steps, "backward needs the workspace of its forward")
        if let finalStateGradient {
            ws.stateGradient.update(from: finalStateGradient, count: batch * s)
        } else {
            ws.stateGradient.update(repeating: 0, count: batch * s)
        }
        for t in stride(from: steps - 1, through: 0, by: -1) {
            cell.backward(projectionGradient: ws.projectionGradients + t * p, projectionStride: steps * p,
                          previous: ws.state(t), state: ws.state(t + 1),
                          outputGradient: dy + t * h, outputStride: steps * h,
                          cache: ws.cache(t), stateGradient: ws.stateGradient,
                          scratch: ws.scratch, batch: batch, arena: arena)
        }
        if let initialStateGradient {
            for i in 0..<(batch * s) { initialStateGradient[i] += ws.stateGradient[i] }
        }
        let dp = UnsafePointer(ws.projectionGradients)
        // ∂W_ih (P, D) += ∂Pᵀ·X over all B·T rows; ∂b_ih += Σ ∂P; ∂X += ∂P·W_ih.
        GEMM.multiply(transA: true, m: p, n: d, k: batch * steps, a: dp, lda: p, b: x, ldb: d,
                      beta: 1, c: arena.gradient(cell.inputWeight), ldc: d)
        if let bias = cell.inputBias {
            Elementwise.addColumnSums(dp, rows: batch * steps, cols: p, ld: p, into: arena.gradient(bias))
        }
        if let dx {
            GEMM.multiply(m: batch * steps, n: d, k: p, a: dp, lda: p, b: arena.value(cell.inputWeight), ldb: d,
                          beta: 1, c: dx, ldc: d)
        }
    }
}
