import CRecurrentKernels

/// A cell unrolled over sequences, trained by backpropagation through time: the one unroller,
/// for training, whole-sequence inference and streaming (a sequence of one step).
///
/// Forward: P = X·W_ihᵀ + b_ih for all B·T rows in one GEMM, then for t = 0..<T the recurrent
/// product q_t = s_{t−1}[0..<K]·W_hhᵀ and the cell's element-wise step. Backward: the steps in
/// reverse, each followed by ∂s_{t−1} += ∂q_t·W_hh, then one GEMM each for ∂W_hh, ∂W_ih and ∂X
/// over all B·T rows. The layer owns every matrix product and how its weights are stored
/// (`LayerWeights`); the cell owns the element-wise math (`RecurrentCell`). Sequences are
/// batch-first: x (B, T, D), y (B, T, H); states are (B, S).
///
/// A cell linear in its state (`RecurrentCell.isLinearInState`: minGRU, minLSTM) runs sequences
/// of more than one step as a scan over time instead: its coefficients for a chunk of steps at
/// once, then s_t = a_t ⊙ s_{t−1} + b_t row by row; the two agree to rounding.
///
/// A cell with an `outputProjection` W_hr (LSTM with projections) writes m_t; the layer makes
/// h_t = m_t·W_hrᵀ its output and the state's first H values, and backward turns ∂h_t into ∂m_t =
/// ∂h_t·W_hr for the step and ∂W_hr into one GEMM over all B·T rows after the loop.
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
    /// the input GEMM — a token model looks each row up from a per-symbol table — or with
    /// `inputProjection` given whole (a streaming step's row of that table), and with the
    /// weights read as `weights` stores them.
    func forward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>?,
                 initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>, outputStride: Int?,
                 finalState: UnsafeMutablePointer<Float>?, workspace ws: RecurrentWorkspace, arena: ParameterArena,
                 projectInput: ((UnsafeMutablePointer<Float>) -> Void)?, inputProjection: UnsafePointer<Float>? = nil,
                 weights: LayerWeights = LayerWeights()) {
        cell.unrollForward(input: x, batch: batch, steps: steps, lengths: lengths, initialState: initialState, output: y,
                           outputStride: outputStride, finalState: finalState, workspace: ws, arena: arena,
                           projectInput: projectInput, inputProjection: inputProjection, weights: weights)
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
        if cell.isLinearInState && steps > 1 && RecurrentLayerScan.enabled {
            scanBackward(batch: batch, steps: steps, lengths: lengths, outputGradient: dy, outputStride: ldy, workspace: ws,
                         stateGradientNorms: stateGradientNorms)
        } else {
            stepBackward(batch: batch, steps: steps, lengths: lengths, outputGradient: dy, outputStride: ldy, workspace: ws,
                         arena: arena, stateGradientNorms: stateGradientNorms)
        }
        if let initialStateGradient {
            for i in 0..<(batch * s) { initialStateGradient[i] += ws.stateGradient[i] }
        }
        let recurrence = cell.recurrence
        let summedProjection = recurrence?.product == .added && recurrence?.bias != nil
        guard inputSide else { return }   // the caller takes ∂P from the workspace
        let dp = UnsafePointer(ws.projectionGradients)
        // ∂W_ih (P, D) += ∂Pᵀ·X over all B·T rows; ∂b_ih += Σ ∂P; ∂X += ∂P·W_ih.
        GEMM.multiply(transA: true, m: p, n: d, k: batch * steps, a: dp, lda: p, b: x, ldb: d,
                      beta: 1, c: arena.gradient(cell.inputWeight), ldc: d)
        if let bias = cell.inputBias {
            if summedProjection {
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

    /// The scan's backward: with g_t = ∂y_t + ∂s_t (∂s_T from the caller), ∂a_t = g_t ⊙ s_{t−1},
    /// ∂b_t = g_t and ∂s_{t−1} = a_t ⊙ g_t, walking each row back in time chunk by chunk, each
    /// chunk's ∂P from its ∂a and ∂b at once. Leaves ∂s_0 in the state gradient.
    private func scanBackward(batch: Int, steps: Int, lengths: UnsafePointer<Int32>?, outputGradient dy: UnsafePointer<Float>,
                              outputStride ldy: Int, workspace ws: RecurrentWorkspace,
                              stateGradientNorms: UnsafeMutablePointer<Float>?) {
        let (p, s, c) = (cell.projectionSize, cell.stateSize, cell.cacheSize)
        let chunk = RecurrentLayerScan.chunk
        stateGradientNorms?.update(repeating: 0, count: steps)
        // The norms sum over every row: then the batch runs as one part.
        let parts = stateGradientNorms == nil ? ParallelRows.parts(rows: batch, workPerRow: Double(20 * p * steps)) : 1
        ParallelRows.run(rows: batch, parts: parts) { r0, r1 in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * chunk * s) { gradients in
                let (da, db) = (gradients.baseAddress!, gradients.baseAddress! + chunk * s)
                for r in r0..<r1 {
                    let length = lengths.map { Int($0[r]) } ?? steps
                    let g = ws.stateGradient + r * s
                    for t0 in stride(from: (steps - 1) / chunk * chunk, through: 0, by: -chunk) {
                        let n = min(chunk, steps - t0), row = r * steps + t0
                        for t in stride(from: t0 + n - 1, through: t0, by: -1) {
                            let (dat, dbt) = (da + (t - t0) * s, db + (t - t0) * s)
                            guard t < length else {
                                // Past the row's end: ∂s passes straight through, and the step adds nothing.
                                dat.update(repeating: 0, count: s)
                                dbt.update(repeating: 0, count: s)
                                continue
                            }
                            let (at, dyt, previous) = (ws.scanA + (r * steps + t) * s, dy + (r * steps + t) * ldy,
                                                       ws.state(t) + r * s)
                            if let stateGradientNorms {
                                // Apart from the loop below, which a running sum would keep from vectorising.
                                var norm: Float = 0
                                for j in 0..<s { norm += (dyt[j] + g[j]) * (dyt[j] + g[j]) }
                                stateGradientNorms[t] += norm
                            }
                            for j in 0..<s {
                                let total = dyt[j] + g[j]
                                dat[j] = total * previous[j]
                                dbt[j] = total
                                g[j] = at[j] * total
                            }
                        }
                        cell.scanCoefficientsBackward(aGradient: da, bGradient: db, cache: ws.caches + row * c, rows: n,
                                                      projectionGradient: ws.projectionGradients + row * p)
                    }
                }
            }
        }
        if let stateGradientNorms { for t in 0..<steps { stateGradientNorms[t] = stateGradientNorms[t].squareRoot() } }
    }

    /// The step-by-step backward: every step's element-wise backward in reverse, each followed by
    /// ∂s_{t−1} += ∂q_t·W_hh; then ∂W_hh and ∂b_hh over all B·T rows at once.
    private func stepBackward(batch: Int, steps: Int, lengths: UnsafePointer<Int32>?, outputGradient dy: UnsafePointer<Float>,
                              outputStride ldy: Int, workspace ws: RecurrentWorkspace, arena: ParameterArena,
                              stateGradientNorms: UnsafeMutablePointer<Float>?) {
        let (p, s, h) = (cell.projectionSize, cell.stateSize, cell.outputSize)
        let recurrence = cell.recurrence
        let k = recurrence?.inputSize ?? 0
        let apart = recurrence?.product == .apart
        // ∂q_t (B, T, P): the projection gradients themselves when q was added onto p.
        let dq = apart ? ws.recurrentGradients : ws.projectionGradients
        let (c, scratchSize) = (cell.cacheSize, cell.scratchSize)
        let outputProjection = cell.outputProjection, width = outputProjection?.cols ?? 0
        // The step's own parameters: each row's gradient sums at the start of its scratch.
        let stepParameters = cell.stepParameters
        let stepGradientSize = stepParameters.reduce(0) { $0 + $1.count }
        precondition(stepGradientSize <= scratchSize, "\(Cell.self): the step parameters' sums need scratch")
        if stepGradientSize > 0 {
            for r in 0..<batch { (ws.scratch + r * scratchSize).update(repeating: 0, count: stepGradientSize) }
        }
        withRecurrentWeight(recurrence, stored: .arena, transposed: false, steps: steps, workspace: ws,
                            arena: arena) { stored in
            let packed: UnsafePointer<Float>? = if case .packed(let w) = stored { w } else { nil }
            /// Steps T−1 … 0 for rows r0..<r1 (the norms need all rows at once).
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
                    if let outputProjection {
                        // g_t = ∂y_t + ∂h_t, kept for ∂W_hr; the step gets ∂m_t = g_t·W_hr.
                        let g = ws.projectedGradients + r0 * steps * h + t * h
                        for r in 0..<(r1 - r0) {
                            let (gr, dyr, dsr) = (g + r * steps * h, stepGradient + r * stepStride, ds + r * s)
                            for j in 0..<h { gr[j] = dyr[j] + dsr[j] }
                        }
                        GEMM.multiply(m: r1 - r0, n: width, k: h, a: g, lda: steps * h, b: arena.value(outputProjection),
                                      ldb: width, beta: 0, c: ws.unprojectedGradient + r0 * width, ldc: width)
                        stepGradient = UnsafePointer(ws.unprojectedGradient + r0 * width)
                        stepStride = width
                    }
                    let dqStep = dq + r0 * steps * p + t * p
                    cell.backward(projectionGradient: ws.projectionGradients + r0 * steps * p + t * p,
                                  projectionStride: steps * p, recurrentGradient: apart ? dqStep : nil,
                                  recurrentStride: steps * p, previous: ws.state(t) + r0 * s, state: ws.state(t + 1) + r0 * s,
                                  outputGradient: stepGradient, outputStride: stepStride,
                                  cache: ws.cache(t) + r0 * c, stateGradient: ds,
                                  scratch: ws.scratch + r0 * scratchSize, batch: r1 - r0, arena: arena)
                    if let recurrence {
                        // ∂s_{t−1}[0..<K] += ∂q_t·W_hh.
                        GEMM.multiplyByWeight(m: r1 - r0, n: k, k: p, a: dqStep, lda: steps * p,
                                              weight: ws.recurrentWeight(recurrence, arena: arena), packed: packed, beta: 1,
                                              c: ds, ldc: s)
                    }
                    if masked, let lengths {
                        for r in r0..<r1 where Int(lengths[r]) <= t {
                            (ws.stateGradient + r * s).update(from: ws.savedStateGradient + r * s, count: s)
                        }
                    }
                }
            }
            // Each part of the batch runs every step of its own rows: ∂W_hh waits for the end.
            let parts = cell.backwardIsRowParallel && stateGradientNorms == nil && steps > 1
                ? ParallelRows.parts(rows: batch, workPerRow: Double(2 * p * max(k, 1) * steps)) : 1
            ParallelRows.run(rows: batch, parts: parts, runRows)
        }
        for r in 0..<batch where stepGradientSize > 0 {
            var sums = UnsafePointer(ws.scratch + r * scratchSize)
            for parameter in stepParameters {
                Elementwise.addBias(sums, rows: 1, cols: parameter.count, to: arena.gradient(parameter), ld: parameter.count)
                sums += parameter.count
            }
        }
        if let outputProjection {
            // ∂W_hr (H, M) += Gᵀ·M over all B·T rows (rows past their end have g = 0).
            GEMM.multiply(transA: true, m: h, n: width, k: batch * steps, a: ws.projectedGradients, lda: h,
                          b: ws.unprojectedOutputs, ldb: width, beta: 1, c: arena.gradient(outputProjection), ldc: width)
        }
        if let recurrence {
            // S_prev (B·T, K): row (b, t) holds s_{t−1}[0..<K] of row b, in ∂Q's (b, t) order. Rows
            // past their end have ∂q = 0, so they add nothing.
            let sPrevious = ws.previousOutputs
            for t in 0..<steps {
                Elementwise.copy(ws.state(t), ldx: s, to: sPrevious + t * k, ldy: steps * k, rows: batch, cols: k)
            }
            // ∂W_hh (P, K) += ∂Qᵀ·S_prev; ∂b_hh += Σ ∂Q: all B·T rows at once. When q was added onto
            // p, Σ ∂Q = Σ ∂P is also ∂b_ih's increment below: summed once.
            if let drop = ws.droppedRecurrentWeight {
                // The step used W_hh ⊙ mask: ∂W_hh += mask ⊙ ∂(W_hh ⊙ mask).
                GEMM.multiply(transA: true, m: p, n: k, k: batch * steps, a: dq, lda: p, b: sPrevious, ldb: k,
                              beta: 0, c: drop.gradient, ldc: k)
                let g = arena.gradient(recurrence.weight)
                for i in 0..<(p * k) { g[i] += drop.mask[i] * drop.gradient[i] }
            } else {
                GEMM.multiply(transA: true, m: p, n: k, k: batch * steps, a: dq, lda: p, b: sPrevious, ldb: k,
                              beta: 1, c: arena.gradient(recurrence.weight), ldc: k)
            }
            let sums = apart ? ws.recurrentBiasGradientSums : ws.biasGradientSums
            if let bias = recurrence.bias {
                sums.update(repeating: 0, count: p)
                Elementwise.addColumnSums(dq, rows: batch * steps, cols: p, ld: p, into: sums)
                Elementwise.addBias(sums, rows: 1, cols: p, to: arena.gradient(bias), ld: p)
            }
        }
    }
}

extension RecurrentCell {
    /// The forward unroll of `RecurrentLayer.forward`, on the cell itself: a streaming step calls
    /// it on a stack's cells without building a `RecurrentLayer` for each.
    func unrollForward(input x: UnsafePointer<Float>, batch: Int, steps: Int, lengths: UnsafePointer<Int32>?,
                       initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>, outputStride: Int?,
                       finalState: UnsafeMutablePointer<Float>?, workspace ws: RecurrentWorkspace, arena: ParameterArena,
                       projectInput: ((UnsafeMutablePointer<Float>) -> Void)?, inputProjection: UnsafePointer<Float>? = nil,
                       weights: LayerWeights = LayerWeights()) {
        let cell = self
        let (d, p, s, h) = (cell.inputSize, cell.projectionSize, cell.stateSize, cell.outputSize)
        let ldy = outputStride ?? h
        let recurrence = cell.recurrence
        ws.prepare(for: cell, recurrence: recurrence, batch: batch, steps: steps)
        if let projectInput {
            projectInput(ws.projections)
        } else if let inputProjection {
            ws.projections.update(from: inputProjection, count: batch * steps * p)
        } else {
            // P (B·T, P) = X (B·T, D)·W_ihᵀ + b_ih: the input half of every step in one GEMM.
            switch weights.input {
            case .arena:
                GEMM.multiply(transB: true, m: batch * steps, n: p, k: d, a: x, lda: d,
                              b: arena.value(cell.inputWeight), ldb: d, beta: 0, c: ws.projections, ldc: p)
            case .packed(let packed):
                GEMM.multiply(m: batch * steps, n: p, k: d, a: x, lda: d, packedB: packed, beta: 0, c: ws.projections, ldc: p)
            case .narrow(let narrow):
                narrow.multiply(x, rows: batch * steps, into: ws.projections)
            }
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
        let (c, scratchSize) = (cell.cacheSize, cell.scratchSize)
        if cell.isLinearInState && steps > 1 && RecurrentLayerScan.enabled {
            // s_t = a_t ⊙ s_{t−1} + b_t as a scan over time: each part of the batch its own rows,
            // every row in chunks of steps — the chunk's coefficients at once, then the linear
            // recurrence with the row's channels side by side. Only a is kept (backward needs
            // it); b lives as long as its chunk, so the working set stays in cache.
            let chunk = RecurrentLayerScan.chunk
            let parts = ParallelRows.parts(rows: batch, workPerRow: Double(20 * p * steps))
            ParallelRows.run(rows: batch, parts: parts) { r0, r1 in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk * s) { chunkB in
                    let bChunk = chunkB.baseAddress!
                    for r in r0..<r1 {
                        let length = lengths.map { Int($0[r]) } ?? steps
                        for t0 in stride(from: 0, to: steps, by: chunk) {
                            let n = min(chunk, steps - t0), row = r * steps + t0
                            cell.scanCoefficients(projection: ws.projections + row * p, rows: n, a: ws.scanA + row * s,
                                                  b: bChunk, cache: ws.caches + row * c)
                            for t in t0..<(t0 + n) {
                                let (previous, next) = (ws.state(t) + r * s, ws.state(t + 1) + r * s)
                                let yt = y + (r * steps + t) * ldy
                                if t < length {
                                    let (at, bt) = (ws.scanA + (r * steps + t) * s, bChunk + (t - t0) * s)
                                    for j in 0..<s {   // y_t = s_t for a cell linear in its state (H = S)
                                        let v = at[j] * previous[j] + bt[j]
                                        next[j] = v
                                        yt[j] = v
                                    }
                                } else {
                                    // A row past its end keeps its state and outputs zeros.
                                    next.update(from: previous, count: s)
                                    yt.update(repeating: 0, count: h)
                                }
                            }
                        }
                    }
                }
            }
            finalState?.update(from: ws.state(steps), count: batch * s)
            return
        }
        let k = recurrence?.inputSize ?? 0
        if let recurrence, let g = cell.unitGates,
           case let parts = RecurrentUnitSplit.parts(batch: batch, steps: steps, hidden: p / g, weight: recurrence.weight,
                                                     stored: weights.recurrent), parts > 1 {
            unitSplitForward(parts: parts, gates: g, recurrence: recurrence, batch: batch, steps: steps, output: y,
                             outputStride: ldy, workspace: ws, arena: arena) { t in maskEnded(t, rows: 0..<batch) }
            finalState?.update(from: ws.state(steps), count: batch * s)
            return
        }
        let outputProjection = cell.outputProjection, width = outputProjection?.cols ?? 0
        // W_hh (P, K) from the arena is packed for the GEMM kernel once here, not once per step:
        // every step multiplies by the same weight (and gets the same bits as the unpacked product).
        withRecurrentWeight(recurrence, stored: weights.recurrent, transposed: true, steps: steps, workspace: ws,
                            arena: arena) { stored in
            // Rows are independent: each part of the batch runs every step of its own rows.
            let parts = steps > 1 ? ParallelRows.parts(rows: batch, workPerRow: Double(2 * p * max(k, 1) * steps)) : 1
            ParallelRows.run(rows: batch, parts: parts) { r0, r1 in
                for t in 0..<steps {
                    let a = ws.projections + r0 * steps * p + t * p, previous = ws.state(t) + r0 * s
                    var q: UnsafeMutablePointer<Float>?
                    if let recurrence {
                        // q_t = s_{t−1}[0..<K]·W_hhᵀ: onto p_t (added), or into its own rows (apart).
                        let added = recurrence.product == .added
                        let target = added ? a : ws.recurrentProducts + r0 * p
                        let ldc = added ? steps * p : p
                        switch stored {
                        case .narrow(let narrow):
                            narrow.multiply(previous, rows: r1 - r0, ldx: s, into: target, ldy: ldc, accumulate: added)
                        case .packed(let packed):
                            GEMM.multiply(m: r1 - r0, n: p, k: k, a: previous, lda: s, packedB: packed, beta: added ? 1 : 0,
                                          c: target, ldc: ldc)
                        case .arena:
                            GEMM.multiply(transB: true, m: r1 - r0, n: p, k: k, a: previous, lda: s,
                                          b: ws.recurrentWeight(recurrence, arena: arena), ldb: k, beta: added ? 1 : 0,
                                          c: target, ldc: ldc)
                        }
                        if !added { q = target }
                    }
                    let yt = y + r0 * steps * ldy + t * ldy
                    // With an output projection the step writes m_t, kept for ∂W_hr.
                    let mt = ws.unprojectedOutputs + r0 * steps * width + t * width
                    cell.forward(projection: a, projectionStride: steps * p, recurrent: q, recurrentStride: p,
                                 previous: previous, state: ws.state(t + 1) + r0 * s,
                                 output: outputProjection == nil ? yt : mt,
                                 outputStride: outputProjection == nil ? steps * ldy : steps * width,
                                 cache: ws.cache(t) + r0 * c, scratch: ws.scratch + r0 * scratchSize,
                                 batch: r1 - r0, arena: arena)
                    if let outputProjection {
                        // h_t = m_t·W_hrᵀ: the output, and the state's first H values.
                        GEMM.multiply(transB: true, m: r1 - r0, n: h, k: width, a: mt, lda: steps * width,
                                      b: arena.value(outputProjection), ldb: width, beta: 0, c: yt, ldc: steps * ldy)
                        Elementwise.copy(yt, ldx: steps * ldy, to: ws.state(t + 1) + r0 * s, ldy: s, rows: r1 - r0, cols: h)
                    }
                    maskEnded(t, rows: r0..<r1)
                }
            }
        }
        finalState?.update(from: ws.state(steps), count: batch * s)
    }
}

extension RecurrentCell {
    /// The step loop split by hidden units instead of by rows (see `RecurrentUnitSplit`): part i
    /// owns units Uᵢ and, for all B rows, computes its slice of the recurrent product with its own
    /// G·|Uᵢ| rows of W_hh (packed once, kept in its core's cache), then the cell's step on those
    /// units (`forward(units:…)`; q apart for a cell that takes it so); only h_t crosses between
    /// the parts, once a step. The workspace ends as the row loop leaves it (pre-activations and
    /// caches scattered back), so `backward` and every result are the same bits.
    func unitSplitForward(parts: Int, gates g: Int, recurrence: Recurrence, batch b: Int, steps: Int,
                          output y: UnsafeMutablePointer<Float>, outputStride ldy: Int, workspace ws: RecurrentWorkspace,
                          arena: ParameterArena, afterStep: (Int) -> Void) {
        let (p, s, k) = (projectionSize, stateSize, recurrence.inputSize)
        let h = p / g, blocks = cacheSize / h
        precondition(blocks * h == cacheSize, "\(Self.self): a unit-split step needs a cache of whole blocks of H")
        let units = RecurrentUnitSplit.ranges(hidden: h, parts: parts)
        let apart = recurrence.product == .apart
        // Per part: packed W_hh rows, gathered b_hh, the step's pre-activations (and q when it is
        // handed over apart) and cache.
        let sizes = units.map { u in
            (packed: GEMM.packedSize(n: g * u.count, k: k), bias: g * u.count, gates: b * g * u.count,
             q: apart ? b * g * u.count : 0, cache: b * blocks * u.count)
        }
        let total = sizes.reduce(0) { $0 + $1.packed + $1.bias + $1.gates + $1.q + $1.cache }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: total) { buffer in
            var next = buffer.baseAddress!
            var packed: [UnsafeMutablePointer<Float>] = [], bias: [UnsafeMutablePointer<Float>] = []
            var gatesBlock: [UnsafeMutablePointer<Float>] = [], qBlock: [UnsafeMutablePointer<Float>] = []
            var cacheBlock: [UnsafeMutablePointer<Float>] = []
            for z in sizes {
                packed.append(next); next += z.packed
                bias.append(next); next += z.bias
                gatesBlock.append(next); next += z.gates
                qBlock.append(next); next += z.q
                cacheBlock.append(next); next += z.cache
            }
            let w = ws.recurrentWeight(recurrence, arena: arena), bhh = recurrence.bias.map { arena.value($0) }
            for (i, u) in units.enumerated() {
                RecurrentUnitSplit.pack(rowsOf: u, gates: g, hidden: h, of: w, cols: k, into: packed[i])
                if let bhh { RecurrentUnitSplit.gather(u, gates: g, hidden: h, of: bhh, into: bias[i]) }
            }
            for t in 0..<steps {
                ParallelRows.run(rows: units.count, parts: units.count) { i0, i1 in
                    for i in i0..<i1 {
                        let u = units[i], width = u.count, n = g * width
                        let a = gatesBlock[i], cache = cacheBlock[i]
                        for r in 0..<b {
                            let row = ws.projections + (r * steps + t) * p
                            for gate in 0..<g {
                                (a + r * n + gate * width).update(from: row + gate * h + u.lowerBound, count: width)
                            }
                        }
                        // q_t's slice: onto a (added), or into its own block (apart).
                        GEMM.multiply(m: b, n: n, k: k, a: ws.state(t), lda: s, packedB: packed[i], beta: apart ? 0 : 1,
                                      c: apart ? qBlock[i] : a, ldc: n)
                        forward(units: u, gates: a, recurrent: apart ? UnsafePointer(qBlock[i]) : nil,
                                bias: bhh == nil ? nil : UnsafePointer(bias[i]), previous: ws.state(t),
                                state: ws.state(t + 1), output: y + t * ldy, outputStride: steps * ldy, cache: cache, batch: b)
                        // Back where the row loop keeps them: a = p + q in the projections (p is
                        // unchanged when q is apart), the cache by blocks of H.
                        for r in 0..<b {
                            let row = ws.projections + (r * steps + t) * p, kept = ws.cache(t) + r * cacheSize
                            for gate in 0..<g where !apart {
                                (row + gate * h + u.lowerBound).update(from: a + r * n + gate * width, count: width)
                            }
                            for block in 0..<blocks {
                                (kept + block * h + u.lowerBound).update(from: cache + (r * blocks + block) * width, count: width)
                            }
                        }
                    }
                }
                afterStep(t)
            }
        }
    }
}

/// When the step loop runs by hidden units instead of by rows (`unitSplitForward`).
///
/// The row loop gives each core its own rows for the whole sequence; with few rows a core then
/// reads all of W_hh every step, and past its L2 that read is the step's cost (DeepBench's
/// 4 × 256 LSTM: 1 MB a step on each core). Split by units, each core reads only its G·U rows
/// of W_hh, and they stay in its cache.
enum RecurrentUnitSplit {
    /// Off: always the row loop (tests compare the two).
    nonisolated(unsafe) static var enabled = true
    /// With at most 2 rows a thread, a W_hh of at least this many bytes takes the split: it does
    /// not fit one core's L2 (1 MiB on the machines measured), its halves do.
    nonisolated(unsafe) static var minimumWeightBytes = 1 << 20
    /// With 3 or 4 rows a thread the row loop's products are efficient enough unless W_hh is
    /// this large.
    nonisolated(unsafe) static var largeWeightBytes = 4 << 20

    /// Parts to split a sequence's steps into by units; 1 for the row loop. W_hh must be read
    /// from the arena or packed (fp32); each part gets at least 16 units.
    ///
    /// Measured (AMD Zen 5, 2 cores, 1 MiB L2 a core; `rnn bench deepbench`, LSTM, ms, row loop →
    /// split): H 256 B 4 1.76–1.87 → 1.30–1.32; H 512 B 4 8.4–8.7 → 4.9–5.1; H 512 B 8 9.4 → 7.9;
    /// H 1024 B 8 (T 50) 14.6–14.8 → 11.6; H 512 B 1 (T 256) 6.6 → 6.5; but H 256 B 8 2.2 → 2.4,
    /// H 192 B 4 0.77 → 0.79 and H 128 B 4 0.39 → 0.48, hence the two thresholds.
    static func parts(batch: Int, steps: Int, hidden: Int, weight: Parameter, stored: StoredWeight) -> Int {
        guard enabled, steps > 1 else { return 1 }
        switch stored {
        case .arena, .packed: break
        case .narrow: return 1
        }
        let threads = Int(rk_threads()), bytes = weight.count * MemoryLayout<Float>.size
        guard threads > 1 else { return 1 }
        let rowsPerThread = (batch + threads - 1) / threads
        guard (rowsPerThread <= 2 && bytes >= minimumWeightBytes) || (rowsPerThread <= 4 && bytes >= largeWeightBytes) else {
            return 1
        }
        return max(1, min(threads, hidden / 16))
    }

    /// Rows a streaming step may have and still take the unit split (`UnitSplitWeights`).
    static let streamingRows = 4
    /// A streaming step takes the unit split when its W_hh has at least this many bytes: the
    /// size from which the GEMM already splits a one-row product over two threads (0.1 MFLOP a
    /// thread, `RK_MIN_FLOPS_PER_THREAD_M1`), so the split moves no work from one core to two.
    nonisolated(unsafe) static var streamingWeightBytes = 400_000

    /// Parts for `cell`'s streaming steps by units (`RecurrentStack.packWeights`); nil for steps by
    /// rows (one thread, a cell without a unit step, a small W_hh).
    static func streamingParts<Cell: RecurrentCell>(_ cell: Cell) -> Int? {
        guard enabled, let g = cell.unitGates, let recurrence = cell.recurrence else { return nil }
        let threads = Int(rk_threads()), hidden = cell.projectionSize / g
        guard threads > 1, recurrence.weight.count * MemoryLayout<Float>.size >= streamingWeightBytes else { return nil }
        let parts = min(threads, hidden / 16)
        return parts > 1 ? parts : nil
    }

    /// The rows of `units`' G gates of a weight (G·H, cols), gate after gate, packed as Bᵀ of x·Wᵀ
    /// for `GEMM.multiply(packedB:)`.
    static func pack(rowsOf units: Range<Int>, gates g: Int, hidden h: Int, of weight: UnsafePointer<Float>, cols: Int,
                     into packed: UnsafeMutablePointer<Float>) {
        let n = g * units.count
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * cols) { rows in
            for gate in 0..<g {
                (rows.baseAddress! + gate * units.count * cols).update(from: weight + (gate * h + units.lowerBound) * cols,
                                                                       count: units.count * cols)
            }
            GEMM.pack(transB: true, n: n, k: cols, b: rows.baseAddress!, ldb: cols, into: packed)
        }
    }

    /// `units`' values of a per-gate vector (G·H), gate after gate, into G·U values.
    static func gather(_ units: Range<Int>, gates g: Int, hidden h: Int, of vector: UnsafePointer<Float>,
                       into out: UnsafeMutablePointer<Float>) {
        for gate in 0..<g { (out + gate * units.count).update(from: vector + gate * h + units.lowerBound, count: units.count) }
    }

    /// `parts` ranges of 0..<hidden, as even as multiples of 16 allow (whole vectors for the step kernels).
    static func ranges(hidden: Int, parts: Int) -> [Range<Int>] {
        let cuts = (0...parts).map { i in i == parts ? hidden : min(hidden, (hidden * i / parts + 8) / 16 * 16) }
        return (0..<parts).map { cuts[$0]..<cuts[$0 + 1] }.filter { !$0.isEmpty }
    }
}

/// Whether cells linear in their state run whole sequences as a scan (the default) or step by
/// step; tests turn it off to compare the two.
enum RecurrentLayerScan {
    nonisolated(unsafe) static var enabled = true
    /// Steps whose coefficients are worked out at once: long enough to vectorise the gate
    /// math, short enough that a chunk's b and gradients stay in L1/L2.
    nonisolated(unsafe) static var chunk = 32
}

/// How the unroller reads a weight matrix: from the arena as it is, packed once for the GEMM
/// kernel (the same bits), or stored narrow (`NarrowMatrix`: bf16, int8, w8a8; batch-1 inference).
enum StoredWeight {
    case arena
    case packed(UnsafePointer<Float>)
    case narrow(NarrowMatrix)
}

/// The stored forms of one layer's W_ih and W_hh (the streaming step's packed or narrow copies).
struct LayerWeights {
    var input: StoredWeight = .arena
    var recurrent: StoredWeight = .arena
}

/// Runs `body` with the cell's W_hh as `stored` keeps it, or — from the arena, when a sequence is
/// long enough to repay it — packed here for the GEMM kernel (the bits are the same either way).
/// - Parameter transposed: packed as Bᵀ for q = s·W_hhᵀ (forward), or as B for ∂s = ∂q·W_hh.
func withRecurrentWeight(_ recurrence: Recurrence?, stored: StoredWeight, transposed: Bool, steps: Int,
                         workspace ws: RecurrentWorkspace, arena: ParameterArena, _ body: (StoredWeight) -> Void) {
    guard let recurrence, steps > 1, case .arena = stored else { return body(stored) }
    let (p, k) = (recurrence.weight.rows, recurrence.weight.cols)
    let (n, depth) = transposed ? (p, k) : (k, p)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: GEMM.packedSize(n: n, k: depth)) { packed in
        GEMM.pack(transB: transposed, n: n, k: depth, b: ws.recurrentWeight(recurrence, arena: arena), ldb: k,
                  into: packed.baseAddress!)
        body(.packed(UnsafePointer(packed.baseAddress!)))
    }
}
