/// A cell unrolled over whole sequences, trained by backpropagation through time.
///
/// Forward: P = X·W_ihᵀ + b_ih for all B·T rows in one GEMM, then for t = 0..<T the cell's
/// recurrent step. Backward: the steps in reverse, then one GEMM each for ∂W_ih and ∂X over
/// all rows. Sequences are batch-first: x (B, T, D), y (B, T, H); states are (B, S).
///
/// Variable lengths: with `lengths` (B), row b is a sequence of lengths[b] ≤ T steps. Its
/// outputs past the end are zero and its final state is the state after its last step —
/// exactly what running that row alone on its own length gives.
public struct RecurrentLayer<Cell: RecurrentCell>: Sendable {
    public let cell: Cell

    /// A layer that unrolls `cell` over time.
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
    ///   - lengths: valid steps per row (B), each in 0...T; nil means all T.
    ///   - outputStride: distance between consecutive steps' outputs (default H), so a
    ///     bidirectional layer can write each direction into its half of (B, T, 2H).
    public func forward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>? = nil,
                        initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                        outputStride: Int? = nil,
                        finalState: UnsafeMutablePointer<Float>?, workspace ws: RecurrentWorkspace,
                        arena: ParameterArena) {
        forward(input: x, batch: batch, steps: steps, lengths: lengths, initialState: initialState, output: y,
                outputStride: outputStride, finalState: finalState, workspace: ws, arena: arena, projectInput: nil)
    }

    /// `forward`, with `projectInput` (when given) writing P (B·T, P) = X·W_ihᵀ + b_ih in place of
    /// the input GEMM — a token model looks each row up from a per-symbol table.
    func forward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>?,
                 initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>, outputStride: Int?,
                 finalState: UnsafeMutablePointer<Float>?, workspace ws: RecurrentWorkspace, arena: ParameterArena,
                 projectInput: ((UnsafeMutablePointer<Float>) -> Void)?) {
        let (d, p, s, h) = (cell.inputSize, cell.projectionSize, cell.stateSize, cell.outputSize)
        let ldy = outputStride ?? h
        ws.prepare(for: cell, batch: batch, steps: steps)
        if let projectInput {
            projectInput(ws.projections)
        } else {
            // P (B·T, P) = X (B·T, D)·W_ihᵀ + b_ih: the input half of every step in one GEMM.
            GEMM.multiply(transB: true, m: batch * steps, n: p, k: d, a: x, lda: d,
                          b: arena.value(cell.inputWeight), ldb: d, beta: 0, c: ws.projections, ldc: p)
            if let bias = cell.inputBias {
                Elementwise.addBias(arena.value(bias), rows: batch * steps, cols: p, to: ws.projections, ld: p)
            }
        }
        if let initialState {
            ws.state(0).update(from: initialState, count: batch * s)
        } else {
            ws.state(0).update(repeating: 0, count: batch * s)
        }
        func maskEnded(_ t: Int, rows: Range<Int>) {
            guard let lengths else { return }
            // Rows already past their end keep their state and output zeros.
            for r in rows where Int(lengths[r]) <= t {
                (ws.state(t + 1) + r * s).update(from: ws.state(t) + r * s, count: s)
                (y + (r * steps + t) * ldy).update(repeating: 0, count: h)
            }
        }
        if let packedCell = cell as? any PackedRecurrentCell, steps > 1 {
            // W_hh (P, H) is packed for the GEMM kernel once here, not once per step: every step
            // multiplies by the same weight (and gets the same bits as the unpacked product).
            let weight = arena.value(packedCell.recurrentWeight)
            let (c, scratchSize) = (cell.cacheSize, cell.scratchSize)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: GEMM.packedSize(n: p, k: h)) { packed in
                let w = UnsafePointer(packed.baseAddress!)
                GEMM.pack(transB: true, n: p, k: h, b: weight, ldb: h, into: packed.baseAddress!)
                // Rows are independent: each part of the batch runs every step of its own rows.
                let parts = ParallelRows.parts(rows: batch, workPerRow: Double(2 * p * h * steps))
                ParallelRows.run(rows: batch, parts: parts) { r0, r1 in
                    for t in 0..<steps {
                        packedCell.forward(projection: ws.projections + r0 * steps * p + t * p, projectionStride: steps * p,
                                           previous: ws.state(t) + r0 * s, state: ws.state(t + 1) + r0 * s,
                                           output: y + r0 * steps * ldy + t * ldy, outputStride: steps * ldy,
                                           cache: ws.cache(t) + r0 * c, scratch: ws.scratch + r0 * scratchSize,
                                           batch: r1 - r0, arena: arena, packedRecurrentWeight: w)
                        maskEnded(t, rows: r0..<r1)
                    }
                }
            }
        } else {
            for t in 0..<steps {
                cell.forward(projection: ws.projections + t * p, projectionStride: steps * p,
                             previous: ws.state(t), state: ws.state(t + 1),
                             output: y + t * ldy, outputStride: steps * ldy,
                             cache: ws.cache(t), scratch: ws.scratch, batch: batch, arena: arena)
                maskEnded(t, rows: 0..<batch)
            }
        }
        finalState?.update(from: ws.state(steps), count: batch * s)
    }

    /// Backward of `forward`, same argument order; call it after `forward` with the same
    /// workspace. Parameter gradients accumulate into the arena; `inputGradient` (B, T, D) and
    /// `initialStateGradient` (B, S) accumulate (+=) when given.
    /// - Parameters:
    ///   - outputGradient: ∂L/∂y (B, T, H).
    ///   - finalStateGradient: ∂L/∂state_T (B, S); nil means zeros.
    ///   - stateGradientNorms: when given (T), entry t receives ‖∂L/∂h_t‖ over the batch (the
    ///     output half of the state), for seeing gradients vanish or explode.
    public func backward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>? = nil,
                         outputGradient dy: UnsafePointer<Float>, outputStride: Int? = nil,
                         finalStateGradient: UnsafePointer<Float>?,
                         inputGradient dx: UnsafeMutablePointer<Float>?,
                         initialStateGradient: UnsafeMutablePointer<Float>?,
                         workspace ws: RecurrentWorkspace, arena: ParameterArena,
                         stateGradientNorms: UnsafeMutablePointer<Float>? = nil) {
        backward(input: x, batch: batch, steps: steps, lengths: lengths, outputGradient: dy, outputStride: outputStride,
                 finalStateGradient: finalStateGradient, inputGradient: dx, initialStateGradient: initialStateGradient,
                 workspace: ws, arena: arena, stateGradientNorms: stateGradientNorms, inputSide: true)
    }

    /// `backward`; with `inputSide` false it stops after the time loop and leaves ∂P (B·T, P) in
    /// the workspace for the caller (the counterpart of `forward(…, projectInput:)`).
    func backward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>?,
                  outputGradient dy: UnsafePointer<Float>, outputStride: Int?, finalStateGradient: UnsafePointer<Float>?,
                  inputGradient dx: UnsafeMutablePointer<Float>?, initialStateGradient: UnsafeMutablePointer<Float>?,
                  workspace ws: RecurrentWorkspace, arena: ParameterArena, stateGradientNorms: UnsafeMutablePointer<Float>?,
                  inputSide: Bool) {
        let (d, p, s, h) = (cell.inputSize, cell.projectionSize, cell.stateSize, cell.outputSize)
        let ldy = outputStride ?? h
        precondition(ws.batch == batch && ws.steps == steps, "backward needs the workspace of its forward")
        if let finalStateGradient {
            ws.stateGradient.update(from: finalStateGradient, count: batch * s)
        } else {
            ws.stateGradient.update(repeating: 0, count: batch * s)
        }
        // LSTM and RNN: W_hh packed once for the ∂h_{t−1} products, ∂W_hh and ∂b_hh after the loop.
        let summed = steps > 1 ? cell as? any SummedRecurrentGradientCell : nil
        var packedWeight: UnsafeMutablePointer<Float>?
        if let summed {
            packedWeight = .allocate(capacity: GEMM.packedSize(n: h, k: p))
            GEMM.pack(n: h, k: p, b: arena.value(summed.recurrentWeight), ldb: h, into: packedWeight!)
        }
        defer { packedWeight?.deallocate() }
        let (c, scratchSize) = (cell.cacheSize, cell.scratchSize)
        /// Steps T−1 … 0 for rows r0..<r1 (the norms and a non-summed cell's weight gradients need all rows).
        func runRows(_ r0: Int, _ r1: Int) {
            let ds = ws.stateGradient + r0 * s
            for t in stride(from: steps - 1, through: 0, by: -1) {
                if let stateGradientNorms {
                    var sum: Float = 0
                    for r in r0..<r1 {
                        let dsr = ws.stateGradient + r * s, dyr = dy + (r * steps + t) * ldy
                        for j in 0..<h { sum += (dsr[j] + dyr[j]) * (dsr[j] + dyr[j]) }
                    }
                    stateGradientNorms[t] = sum.squareRoot()
                }
                var stepGradient = dy + r0 * steps * ldy + t * ldy, stepStride = steps * ldy
                var masked = false
                if let lengths {
                    for r in r0..<r1 where Int(lengths[r]) <= t { masked = true; break }
                }
                if masked, let lengths {
                    // A row past its end: its state gradient passes straight through to the step
                    // before, and it must add nothing else. Run the cell with zero incoming
                    // gradients for it, then put its state gradient back.
                    let stepOutput = ws.stepOutputGradient + r0 * h
                    Elementwise.copy(stepGradient, ldx: stepStride, to: stepOutput, ldy: h, rows: r1 - r0, cols: h)
                    (ws.savedStateGradient + r0 * s).update(from: ds, count: (r1 - r0) * s)
                    for r in r0..<r1 where Int(lengths[r]) <= t {
                        (ws.stepOutputGradient + r * h).update(repeating: 0, count: h)
                        (ws.stateGradient + r * s).update(repeating: 0, count: s)
                    }
                    stepGradient = UnsafePointer(stepOutput)
                    stepStride = h
                }
                if let summed, let packed = packedWeight {
                    summed.backwardStep(projectionGradient: ws.projectionGradients + r0 * steps * p + t * p,
                                        projectionStride: steps * p, state: ws.state(t + 1) + r0 * s,
                                        outputGradient: stepGradient, outputStride: stepStride,
                                        cache: ws.cache(t) + r0 * c, previousCell: ws.state(t) + r0 * s + h,
                                        stateGradient: ds, batch: r1 - r0, packedRecurrentWeight: UnsafePointer(packed))
                } else {
                    cell.backward(projectionGradient: ws.projectionGradients + r0 * steps * p + t * p,
                                  projectionStride: steps * p, previous: ws.state(t) + r0 * s, state: ws.state(t + 1) + r0 * s,
                                  outputGradient: stepGradient, outputStride: stepStride,
                                  cache: ws.cache(t) + r0 * c, stateGradient: ds,
                                  scratch: ws.scratch + r0 * scratchSize, batch: r1 - r0, arena: arena)
                }
                if masked, let lengths {
                    for r in r0..<r1 where Int(lengths[r]) <= t {
                        (ws.stateGradient + r * s).update(from: ws.savedStateGradient + r * s, count: s)
                    }
                }
            }
        }
        // LSTM and RNN steps touch only their own rows (∂W_hh waits for the end): parts of the
        // batch run concurrently, as in forward.
        let parts = summed != nil && packedWeight != nil && stateGradientNorms == nil
            ? ParallelRows.parts(rows: batch, workPerRow: Double(2 * p * h * steps)) : 1
        ParallelRows.run(rows: batch, parts: parts, runRows)
        if let initialStateGradient {
            for i in 0..<(batch * s) { initialStateGradient[i] += ws.stateGradient[i] }
        }
        if let summed {
            // H_prev (B·T, H): row (b, t) holds h_{t−1} of row b, in ∂P's (b, t) order. Rows past
            // their end have ∂a = 0, so they add nothing.
            let hPrevious = ws.previousOutputs
            for t in 0..<steps {
                Elementwise.copy(ws.state(t), ldx: s, to: hPrevious + t * h, ldy: steps * h, rows: batch, cols: h)
            }
            // ∂W_hh (P, H) += ∂Pᵀ·H_prev; ∂b_hh += Σ ∂P: all B·T rows at once. Σ ∂P is also
            // ∂b_ih's increment below: summed once.
            GEMM.multiply(transA: true, m: p, n: h, k: batch * steps, a: ws.projectionGradients, lda: p, b: hPrevious, ldb: h,
                          beta: 1, c: arena.gradient(summed.recurrentWeight), ldc: h)
            ws.biasGradientSums.update(repeating: 0, count: p)
            Elementwise.addColumnSums(ws.projectionGradients, rows: batch * steps, cols: p, ld: p, into: ws.biasGradientSums)
            Elementwise.addBias(ws.biasGradientSums, rows: 1, cols: p, to: arena.gradient(summed.recurrentBias), ld: p)
        }
        guard inputSide else { return }   // the caller takes ∂P from the workspace
        let dp = UnsafePointer(ws.projectionGradients)
        // ∂W_ih (P, D) += ∂Pᵀ·X over all B·T rows; ∂b_ih += Σ ∂P; ∂X += ∂P·W_ih.
        GEMM.multiply(transA: true, m: p, n: d, k: batch * steps, a: dp, lda: p, b: x, ldb: d,
                      beta: 1, c: arena.gradient(cell.inputWeight), ldc: d)
        if let bias = cell.inputBias {
            if summed != nil {
                Elementwise.addBias(ws.biasGradientSums, rows: 1, cols: p, to: arena.gradient(bias), ld: p)
            } else {
                Elementwise.addColumnSums(dp, rows: batch * steps, cols: p, ld: p, into: arena.gradient(bias))
            }
        }
        if let dx {
            GEMM.multiply(m: batch * steps, n: d, k: p, a: dp, lda: p, b: arena.value(cell.inputWeight), ldb: d,
                          beta: 1, c: dx, ldc: d)
        }
    }
}

/// A cell whose recurrent pre-activation gradient is its projection gradient ∂a (LSTM, vanilla
/// RNN; not GRU, whose candidate gate sees r ⊙ W_hn·h): ∂W_hh = Σ_t ∂a_tᵀ·h_{t−1} and
/// ∂b_hh = Σ_t Σ_b ∂a_t can then wait for the end of the time loop and be one GEMM over all
/// B·T rows, instead of T GEMMs with K = B that each read and write all of ∂W_hh.
protocol SummedRecurrentGradientCell: PackedRecurrentCell {
    var recurrentBias: Parameter { get }
    /// One step of `backward` without the ∂W_hh and ∂b_hh terms: ∂a (B, P) from the step's
    /// gradients, and ∂h_{t−1} = ∂a·W_hh with W_hh packed by `GEMM.pack(n: H, k: P, b: W_hh, ldb: H)`.
    /// - Parameter previousCell: c_{t−1} (B, H) with stride S, for the LSTM; unused by the RNN.
    func backwardStep(projectionGradient: UnsafeMutablePointer<Float>, projectionStride: Int,
                      state: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, outputStride: Int,
                      cache: UnsafePointer<Float>, previousCell: UnsafePointer<Float>, stateGradient: UnsafeMutablePointer<Float>,
                      batch: Int, packedRecurrentWeight: UnsafePointer<Float>)
}

/// A cell whose step multiplies h_{t−1} (B, H) by W_hhᵀ, W_hh (P, H) its `recurrentWeight`, and
/// can take W_hh packed for the GEMM kernel: `RecurrentLayer` packs it once per sequence instead
/// of once per step. Internal, so the public `RecurrentCell` protocol is unchanged.
protocol PackedRecurrentCell: RecurrentCell {
    var recurrentWeight: Parameter { get }
    /// `RecurrentCell.forward` with W_hh from `GEMM.pack(transB: true, n: P, k: H, …)`, or nil.
    func forward(projection: UnsafeMutablePointer<Float>, projectionStride: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena, packedRecurrentWeight: UnsafePointer<Float>?)
}
