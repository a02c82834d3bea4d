import CRecurrentKernels

/// One layer's weights split by hidden units for streaming steps (`RecurrentCell.unitSplitStep`),
/// set up once by `RecurrentStack.packWeights`: for each part of the units, the rows of its units'
/// gates of W_ih and W_hh, gathered gate by gate and packed, and b_ih and b_hh gathered the same
/// way, with the part's own scratch for a step of up to `capacity` rows.
///
/// A batch-1 step reads every weight once per token; split by units, each core reads only its
/// parts of W_ih and W_hh (which stay in its L2 when they fit) and runs the cell's step for its
/// own units right after its products, so a layer is one hand-over instead of one per product
/// followed by the whole step on one core.
final class UnitSplitWeights {
    /// Where each part's weights and scratch are (`rk_unit_step`'s parts).
    let parts: UnsafeMutableBufferPointer<rk_unit_part>
    /// The cell's kernel (`RK_UNIT_LSTM`, …), G, and the widths of W_ih and W_hh.
    let kernel: Int32, gates: Int, inputSize: Int, recurrentSize: Int
    let capacity: Int
    /// The next state (B, S), written by every part for its own units.
    let next: UnsafeMutablePointer<Float>
    private let buffer: UnsafeMutablePointer<Float>

    /// Nil for a cell without a unit kernel (the LSTM without a projection, the GRU, the vanilla
    /// RNN have one) or when fewer than 2 parts of 16 units fit.
    init?<Cell: RecurrentCell>(_ cell: Cell, parts count: Int, capacity: Int, arena: ParameterArena) {
        guard let g = cell.unitGates, let recurrence = cell.recurrence, count > 1 else { return nil }
        switch cell {
        case is LSTMCell: kernel = Int32(RK_UNIT_LSTM)
        case is GRUCell: kernel = Int32(RK_UNIT_GRU)
        case let rnn as RNNCell: kernel = Int32(rnn.nonlinearity == .relu ? RK_UNIT_RNN_RELU : RK_UNIT_RNN_TANH)
        default: return nil
        }
        let (p, d, k) = (cell.projectionSize, cell.inputSize, recurrence.inputSize)
        let h = p / g, blocks = cell.cacheSize / h
        precondition(g * h == p && blocks * h == cell.cacheSize, "\(Cell.self): a unit step needs whole blocks of H")
        let units = RecurrentUnitSplit.ranges(hidden: h, parts: count)
        guard units.count > 1 else { return nil }
        (gates, self.capacity, inputSize, recurrentSize) = (g, capacity, d, k)
        // Offsets into one buffer, each block starting a whole number of 16 floats in.
        var total = 0
        func take(_ n: Int) -> Int {
            defer { total += (n + 15) / 16 * 16 }
            return total
        }
        let layout = units.map { u in
            let n = g * u.count
            return (input: take(GEMM.packedSize(n: n, k: d)), recurrent: take(GEMM.packedSize(n: n, k: k)),
                    inputBias: cell.inputBias == nil ? nil : take(n), recurrentBias: recurrence.bias == nil ? nil : take(n),
                    gates: take(capacity * n), q: take(capacity * n), cache: take(capacity * blocks * u.count))
        }
        let nextOffset = take(capacity * cell.stateSize)
        buffer = .allocate(capacity: max(total, 1))
        buffer.initialize(repeating: 0, count: max(total, 1))
        next = buffer + nextOffset
        parts = .allocate(capacity: units.count)
        let (wih, whh) = (arena.value(cell.inputWeight), arena.value(recurrence.weight))
        let (bih, bhh) = (cell.inputBias.map { arena.value($0) }, recurrence.bias.map { arena.value($0) })
        for (i, (u, o)) in zip(units, layout).enumerated() {
            RecurrentUnitSplit.pack(rowsOf: u, gates: g, hidden: h, of: wih, cols: d, into: buffer + o.input)
            RecurrentUnitSplit.pack(rowsOf: u, gates: g, hidden: h, of: whh, cols: k, into: buffer + o.recurrent)
            for (bias, at) in [(bih, o.inputBias), (bhh, o.recurrentBias)] {
                guard let bias, let at else { continue }
                RecurrentUnitSplit.gather(u, gates: g, hidden: h, of: bias, into: buffer + at)
            }
            (parts.baseAddress! + i).initialize(to: rk_unit_part(
                first: u.lowerBound, units: u.count, input: buffer + o.input, recurrent: buffer + o.recurrent,
                input_bias: o.inputBias.map { UnsafePointer(buffer + $0) }, recurrent_bias: o.recurrentBias.map { UnsafePointer(buffer + $0) },
                gates: buffer + o.gates, q: buffer + o.q, cache: buffer + o.cache))
        }
    }

    deinit {
        parts.deallocate()
        buffer.deallocate()
    }
}

extension RecurrentCell {
    /// One streaming step of B rows split by hidden units (see `UnitSplitWeights`, `rk_unit_step`):
    /// part i takes its units' slice of the input projection (from `projection` when given, else
    /// x·W_ihᵀ + b_ih with its own rows of W_ih), adds or keeps apart its slice of q = s_{t−1}·W_hhᵀ,
    /// and runs the cell's kernel on its units. The new state is written aside and copied over
    /// `state` once every part has read the old one. The same bits as the unroller's one-step
    /// forward (`forward(units:…)` is the same kernel).
    func unitSplitStep(_ w: UnitSplitWeights, input x: UnsafePointer<Float>, projection given: UnsafePointer<Float>?,
                       batch b: Int, state: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>) {
        precondition(b <= w.capacity, "a unit-split step of \(b) rows, set up for \(w.capacity)")
        rk_unit_step(w.kernel, Int32(w.parts.count), w.parts.baseAddress, b, projectionSize / w.gates, w.inputSize,
                     w.recurrentSize, stateSize, x, given, state, w.next, y, outputSize)
        state.update(from: w.next, count: b * stateSize)
    }
}
