import CRecurrentKernels

/// Layers of recurrent cells, optionally bidirectional, with dropout between layers: PyTorch's
/// nn.RNN / nn.LSTM / nn.GRU with `batch_first=True`.
///
/// Shapes: x (B, T, D); y (B, T, dirs·H), the forward direction's h in the first H columns
/// and the reverse direction's in the last H; states (L·dirs, B, S) with block l·dirs + d for
/// layer l, direction d (S = 2H for LSTM, laid out [h | c] per row; H otherwise).
/// Parameters carry PyTorch's names (`rnn.weight_ih_l0`, `rnn.weight_ih_l0_reverse`, ...).
///
/// The reverse direction reads each row backwards from its own last valid step, as PyTorch
/// does for packed sequences; its initial state enters at that step and its final state is the
/// state after step 0.
public struct RecurrentStack: Sendable {
    public let kind: CellKind
    public let inputSize: Int      // D
    public let hiddenSize: Int     // H
    /// An LSTM's projected output width (PyTorch's proj_size), nil for none.
    public let projectedSize: Int?
    public let layers: Int         // L
    public let bidirectional: Bool
    /// Dropout probability on the outputs of every layer but the last, in training only.
    public let dropout: Float
    /// DropConnect on every recurrent weight W_hh (AWD-LSTM's weight drop), in training only:
    /// each training `forward` draws one mask per layer and direction, keeping each weight with
    /// probability 1 − p and scaling it by 1/(1 − p), and every step of the batch uses W_hh ⊙ mask;
    /// `backward` gives ∂W_hh through the same mask.
    public let weightDrop: Float
    /// Cells by layer and direction: index l·directions + d.
    public let cells: [any RecurrentCell]

    public var directions: Int { bidirectional ? 2 : 1 }
    /// One direction's output width: the projected size, else H.
    public var layerOutputSize: Int { projectedSize ?? hiddenSize }
    public var outputSize: Int { directions * layerOutputSize }
    /// S: the state width of one (layer, direction).
    public var stateSize: Int { cells[0].stateSize }
    /// Scalars of a whole stack state: L·dirs·B·S.
    public func stateCount(batch: Int) -> Int { layers * directions * batch * stateSize }

    /// Registers every layer's parameters under `prefix` in PyTorch's order
    /// (layer 0 forward, layer 0 reverse, layer 1 forward, ...).
    /// - Parameter projectedSize: an LSTM's output width with projections, 1..<H (PyTorch's proj_size).
    /// - Parameter weightDrop: DropConnect on W_hh in training (see `weightDrop`).
    /// - Throws: `RecurrentError.invalidArgument` for sizes below 1, dropout or weight drop outside
    ///   [0, 1), or a projection a cell kind does not have or not below H.
    public init(kind: CellKind, inputSize: Int, hiddenSize: Int, projectedSize: Int? = nil, layers: Int = 1,
                bidirectional: Bool = false, dropout: Float = 0, weightDrop: Float = 0,
                initialization: RecurrentInitialization = .pytorch, prefix: String = "rnn",
                layout: inout ParameterLayout) throws {
        try require(inputSize >= 1, .invalidArgument(name: "input size", value: "\(inputSize)", expected: "at least 1"))
        try require(hiddenSize >= 1, .invalidArgument(name: "hidden size", value: "\(hiddenSize)", expected: "at least 1"))
        try require(layers >= 1, .invalidArgument(name: "layers", value: "\(layers)", expected: "at least 1"))
        try require(dropout >= 0 && dropout < 1, .invalidArgument(name: "dropout", value: "\(dropout)", expected: "0 <= p < 1"))
        try require(weightDrop >= 0 && weightDrop < 1,
                    .invalidArgument(name: "weight drop", value: "\(weightDrop)", expected: "0 <= p < 1"))
        if let projectedSize {
            try require(kind.projects, .invalidArgument(name: "projection size", value: "\(projectedSize)",
                                                        expected: "none for \(kind.displayName): only lstm projects its output"))
            try require(projectedSize >= 1 && projectedSize < hiddenSize,
                        .invalidArgument(name: "projection size", value: "\(projectedSize)",
                                         expected: "1..<\(hiddenSize) (below the hidden size)"))
        }
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.projectedSize = projectedSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.weightDrop = weightDrop
        var cells: [any RecurrentCell] = []
        for l in 0..<layers {
            for d in 0..<(bidirectional ? 2 : 1) {
                cells.append(kind.makeCell(prefix: prefix,
                                           inputSize: l == 0 ? inputSize : (bidirectional ? 2 : 1) * (projectedSize ?? hiddenSize),
                                           hiddenSize: hiddenSize, projectedSize: projectedSize, layer: l,
                                           suffix: d == 1 ? "_reverse" : "",
                                           initialization: initialization, layout: &layout))
            }
        }
        self.cells = cells
    }

    /// Checks lengths: B entries, each in 0...T.
    /// - Throws: `RecurrentError.invalidArgument` naming the first bad row.
    public static func validate(lengths: [Int32], batch: Int, steps: Int) throws {
        try require(lengths.count == batch, .shapeMismatch(operation: "lengths", expected: "\(batch) entries",
                                                           found: "\(lengths.count)"))
        for (r, n) in lengths.enumerated() where n < 0 || Int(n) > steps {
            throw RecurrentError.invalidArgument(name: "length of row \(r)", value: "\(n)", expected: "0...\(steps)")
        }
    }

    // MARK: Whole sequences

    /// Runs every layer over the sequences; keeps in `workspace` what `backward` needs.
    /// - Parameters:
    ///   - input: x (B, T, D).
    ///   - lengths: valid steps per row (B), each in 0...T; nil means all T (see `validate`).
    ///   - initialState: (L·dirs, B, S); nil means zeros.
    ///   - output: y (B, T, dirs·H), written; zero past each row's end.
    ///   - finalState: (L·dirs, B, S), written when given.
    ///   - training: applies dropout between layers and the weight drop, drawing masks from `rng`
    ///     (the weight drop's first: layer by layer and direction by direction, W_hh's elements in
    ///     order, each kept when `rng.nextUniform() >= weightDrop`).
    public func forward(input x: UnsafePointer<Float>, batch b: Int, steps t: Int, lengths: UnsafePointer<Int32>? = nil,
                        initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                        finalState: UnsafeMutablePointer<Float>?, training: Bool = false,
                        rng: inout SeededGenerator, workspace ws: RecurrentStackWorkspace, arena: ParameterArena) {
        forward(input: x, tokens: nil, batch: b, steps: t, lengths: lengths, initialState: initialState, output: y,
                finalState: finalState, training: training, rng: &rng, workspace: ws, arena: arena)
    }

    /// `forward` where the first layer reads tokens: each step's input projection is row
    /// ids[b, t] of a per-symbol table (V, P) per direction, as `TokenInput` describes.
    func forward(input x: UnsafePointer<Float>, tokens: TokenInput?, batch b: Int, steps t: Int,
                 lengths: UnsafePointer<Int32>?, initialState: UnsafePointer<Float>?, output y: UnsafeMutablePointer<Float>,
                 finalState: UnsafeMutablePointer<Float>?, training: Bool,
                 rng: inout SeededGenerator, workspace ws: RecurrentStackWorkspace, arena: ParameterArena) {
        ws.prepare(for: self, batch: b, steps: t, lengths: lengths)
        let (h, s, o) = (layerOutputSize, stateSize, outputSize)
        ws.dropoutActive = training && dropout > 0
        for (index, cell) in cells.enumerated() {
            let layerWorkspace = ws.layers[index]
            guard training, weightDrop > 0, let recurrence = cell.recurrence else {
                layerWorkspace.useArenaRecurrentWeight()
                continue
            }
            let n = recurrence.weight.count, scale = 1 / (1 - weightDrop)
            let (dropped, mask) = layerWorkspace.dropRecurrentWeight(count: n)
            let w = arena.value(recurrence.weight)
            rng.dropoutMask(count: n, rate: weightDrop, scale: scale, input: w, mask: mask, output: dropped)
        }
        var layerInput = x
        for l in 0..<layers {
            let din = l == 0 ? inputSize : o
            if l > 0 && ws.dropoutActive {
                // Inverted dropout on the previous layer's output: keep with 1 − p, scale by 1/(1 − p).
                let mask = ws.dropoutMask(l), dropped = ws.droppedInput(l), scale = 1 / (1 - dropout)
                rng.dropoutMask(count: b * t * din, rate: dropout, scale: scale, input: layerInput, mask: mask, output: dropped)
                layerInput = UnsafePointer(dropped)
            }
            let out = l == layers - 1 ? y : ws.layerOutput(l)
            for d in 0..<directions {
                let index = l * directions + d
                let h0 = initialState.map { $0 + index * b * s }
                let hT = finalState.map { $0 + index * b * s }
                runForward(cells[index], index: index, reverse: d == 1, input: layerInput, inputSize: din,
                           tokens: l == 0 ? tokens.map { ($0.ids, $0.tables[d]) } : nil, batch: b, steps: t,
                           initialState: h0, output: out + d * h, outputStride: o, finalState: hT,
                           workspace: ws, layerWorkspace: ws.layers[index], arena: arena)
            }
            layerInput = UnsafePointer(out)
        }
    }

    /// Backward of `forward`, same argument order, after `forward` with the same workspace.
    /// Parameter gradients accumulate into the arena; `inputGradient` (B, T, D) and
    /// `initialStateGradient` (L·dirs, B, S) accumulate (+=) when given.
    /// - Parameters:
    ///   - outputGradient: ∂L/∂y (B, T, dirs·H).
    ///   - finalStateGradient: ∂L/∂state_T (L·dirs, B, S); nil means zeros.
    ///   - stateGradientNorms: when given (T), ‖∂L/∂h_t‖ of the first layer's forward direction.
    public func backward(input x: UnsafePointer<Float>, batch b: Int, steps t: Int, lengths: UnsafePointer<Int32>? = nil,
                         outputGradient dy: UnsafePointer<Float>, finalStateGradient: UnsafePointer<Float>?,
                         inputGradient dx: UnsafeMutablePointer<Float>?, initialStateGradient: UnsafeMutablePointer<Float>?,
                         stateGradientNorms: UnsafeMutablePointer<Float>? = nil,
                         workspace ws: RecurrentStackWorkspace, arena: ParameterArena) {
        backward(input: x, tokens: nil, batch: b, steps: t, lengths: lengths, outputGradient: dy,
                 finalStateGradient: finalStateGradient, inputGradient: dx, initialStateGradient: initialStateGradient,
                 stateGradientNorms: stateGradientNorms, workspace: ws, arena: arena)
    }

    /// `backward` for a `forward` with tokens: the first layer's ∂P rows are summed by symbol
    /// into `tokens.tableGradients` (+=), and its W_ih, b_ih and input get nothing here — the
    /// caller turns the table gradients into them.
    func backward(input x: UnsafePointer<Float>, tokens: TokenInput?, batch b: Int, steps t: Int,
                  lengths: UnsafePointer<Int32>?, outputGradient dy: UnsafePointer<Float>,
                  finalStateGradient: UnsafePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?,
                  initialStateGradient: UnsafeMutablePointer<Float>?, stateGradientNorms: UnsafeMutablePointer<Float>?,
                  workspace ws: RecurrentStackWorkspace, arena: ParameterArena) {
        let (h, s, o) = (layerOutputSize, stateSize, outputSize)
        var upstream = dy
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let din = l == 0 ? inputSize : o
            let layerInput: UnsafePointer<Float>
            if l == 0 {
                layerInput = x
            } else {
                layerInput = UnsafePointer(ws.dropoutActive ? ws.droppedInput(l) : ws.layerOutput(l - 1))
            }
            // ∂(this layer's input): into the caller's dx for layer 0, else a workspace buffer.
            let dInput: UnsafeMutablePointer<Float>?
            if l == 0 {
                dInput = tokens == nil ? dx : nil
            } else {
                dInput = ws.inputGradient
                dInput!.update(repeating: 0, count: b * t * din)
            }
            for d in 0..<directions {
                let index = l * directions + d
                runBackward(cells[index], index: index, reverse: d == 1, input: layerInput, inputSize: din,
                            tokens: l == 0 ? tokens.map { ($0.ids, $0.tableGradients[d]) } : nil, batch: b, steps: t,
                            outputGradient: upstream + d * h, outputStride: o,
                            finalStateGradient: finalStateGradient.map { $0 + index * b * s },
                            inputGradient: dInput, initialStateGradient: initialStateGradient.map { $0 + index * b * s },
                            stateGradientNorms: index == 0 ? stateGradientNorms : nil,
                            workspace: ws, layerWorkspace: ws.layers[index], arena: arena)
            }
            if l > 0 {
                if ws.dropoutActive {
                    let mask = ws.dropoutMask(l), dIn = ws.inputGradient
                    for i in 0..<(b * t * din) { dIn[i] *= mask[i] }
                }
                // The next (lower) layer's output gradient.
                ws.swapGradients()
                upstream = UnsafePointer(ws.upstreamGradient)
            }
        }
    }

    /// One direction of one layer forward; the reverse direction runs on time-reversed copies.
    private func runForward<Cell: RecurrentCell>(_ cell: Cell, index: Int, reverse: Bool, input: UnsafePointer<Float>, inputSize din: Int,
                                                 tokens: (ids: UnsafePointer<Int32>, table: UnsafePointer<Float>)?,
                                                 batch b: Int, steps t: Int, initialState: UnsafePointer<Float>?,
                                                 output: UnsafeMutablePointer<Float>, outputStride: Int,
                                                 finalState: UnsafeMutablePointer<Float>?,
                                                 workspace ws: RecurrentStackWorkspace, layerWorkspace: RecurrentWorkspace,
                                                 arena: ParameterArena) {
        let layer = RecurrentLayer(cell: cell)
        let lengths = ws.lengthsPointer
        let p = cell.projectionSize
        // Token input: P[b, t] is the table's row for the token read at that step (for the reverse
        // direction, the row's tokens backwards from its own last valid step).
        let lookUp: ((UnsafeMutablePointer<Float>) -> Void)? = tokens.map { tokens in { projections in
            rk_gather_rows(b * t, p, tokens.table, ws.tokenRows(tokens.ids, reverse: reverse), projections)
        } }
        guard reverse else {
            layer.forward(input: input, batch: b, steps: t, lengths: lengths, initialState: initialState, output: output,
                          outputStride: outputStride, finalState: finalState, workspace: layerWorkspace, arena: arena,
                          projectInput: lookUp)
            return
        }
        let h = cell.outputSize
        let xr = ws.reversedInput(index)
        if tokens == nil { ws.reverseTime(input, width: din, stride: din, into: xr, stride: din, batch: b, steps: t) }
        let yr = ws.reversedOutput
        layer.forward(input: xr, batch: b, steps: t, lengths: lengths, initialState: initialState, output: yr,
                      outputStride: h, finalState: finalState, workspace: layerWorkspace, arena: arena, projectInput: lookUp)
        ws.reverseTime(yr, width: h, stride: h, into: output, stride: outputStride, batch: b, steps: t)
    }

    private func runBackward<Cell: RecurrentCell>(_ cell: Cell, index: Int, reverse: Bool, input: UnsafePointer<Float>, inputSize din: Int,
                                                  tokens: (ids: UnsafePointer<Int32>, tableGradient: UnsafeMutablePointer<Float>)?,
                                                  batch b: Int, steps t: Int, outputGradient: UnsafePointer<Float>,
                                                  outputStride: Int, finalStateGradient: UnsafePointer<Float>?,
                                                  inputGradient: UnsafeMutablePointer<Float>?,
                                                  initialStateGradient: UnsafeMutablePointer<Float>?,
                                                  stateGradientNorms: UnsafeMutablePointer<Float>?,
                                                  workspace ws: RecurrentStackWorkspace, layerWorkspace: RecurrentWorkspace,
                                                  arena: ParameterArena) {
        let layer = RecurrentLayer(cell: cell)
        let lengths = ws.lengthsPointer
        let p = cell.projectionSize
        /// Token input: ∂P[b, t] summed into the table row of the token read at that step.
        func sumByToken() {
            guard let tokens else { return }
            rk_scatter_add_rows(b * t, p, layerWorkspace.projectionGradients, ws.tokenRows(tokens.ids, reverse: reverse),
                                tokens.tableGradient)
        }
        guard reverse else {
            layer.backward(input: input, batch: b, steps: t, lengths: lengths, outputGradient: outputGradient,
                           outputStride: outputStride, finalStateGradient: finalStateGradient, inputGradient: inputGradient,
                           initialStateGradient: initialStateGradient, workspace: layerWorkspace, arena: arena,
                           stateGradientNorms: stateGradientNorms, inputSide: tokens == nil)
            sumByToken()
            return
        }
        let h = cell.outputSize
        let dyr = ws.reversedOutput
        ws.reverseTime(outputGradient, width: h, stride: outputStride, into: dyr, stride: h, batch: b, steps: t)
        let dxr: UnsafeMutablePointer<Float>? = inputGradient == nil ? nil : ws.reversedInputGradient
        dxr?.update(repeating: 0, count: b * t * din)
        layer.backward(input: ws.reversedInput(index), batch: b, steps: t, lengths: lengths,
                       outputGradient: dyr, outputStride: h, finalStateGradient: finalStateGradient,
                       inputGradient: dxr, initialStateGradient: initialStateGradient, workspace: layerWorkspace, arena: arena,
                       stateGradientNorms: nil, inputSide: tokens == nil)
        sumByToken()
        if let inputGradient, let dxr {
            let scratch = ws.reversedScratch
            ws.reverseTime(dxr, width: din, stride: din, into: scratch, stride: din, batch: b, steps: t)
            for i in 0..<(b * t * din) { inputGradient[i] += scratch[i] }
        }
    }

    // MARK: Streaming

    /// One time step for every row, the state held by the caller: the streaming form of
    /// `forward` (unidirectional stacks only; no dropout). It gives exactly the outputs of
    /// the whole-sequence forward.
    /// - Parameters:
    ///   - input: x_t (B, D).
    ///   - state: the stack's state (L, B, S), replaced by the next one.
    ///   - output: y_t (B, H), written.
    /// - Throws: `RecurrentError.invalidArgument` for a bidirectional stack,
    ///   `RecurrentError.shapeMismatch` for a state of another batch size.
    public func step(input x: UnsafePointer<Float>, state: inout RecurrentState, output y: UnsafeMutablePointer<Float>,
                     workspace ws: StepWorkspace, arena: ParameterArena) throws {
        try step(input: x, firstLayerProjection: nil, state: &state, output: y, gates: nil, workspace: ws, arena: arena)
    }

    /// `step` for callers that already have the first layer's input projection
    /// x_t·W_ihᵀ + b_ih (B, P) — a token model looks it up per vocabulary symbol from
    /// `firstLayerProjections`, computed once. The same results, bit for bit, as `step` with x_t.
    public func step(firstLayerProjection p: UnsafePointer<Float>, state: inout RecurrentState,
                     output y: UnsafeMutablePointer<Float>, workspace ws: StepWorkspace, arena: ParameterArena) throws {
        try step(input: p, firstLayerProjection: p, state: &state, output: y, gates: nil, workspace: ws, arena: arena)
    }

    // MARK: Looking inside

    /// The blocks each layer's cell shows per step (`RecurrentCell.gates`); the same for every layer.
    public var gates: [CellGate] { cells[0].gates }
    /// G: the gate values of one layer and batch row, Σ of `gates`' widths.
    public var gateValueCount: Int { gates.reduce(0) { $0 + $1.width } }

    /// `step`, also writing every layer's gate activations: the same state and output, bit for bit.
    /// - Parameters:
    ///   - input: x_t (B, D).
    ///   - gates: (L, B, G), written: layer l, row b holds `gates`' blocks in order (G = `gateValueCount`).
    /// - Throws: as `step`.
    public func step(input x: UnsafePointer<Float>, state: inout RecurrentState, output y: UnsafeMutablePointer<Float>,
                     gates: UnsafeMutablePointer<Float>, workspace ws: StepWorkspace, arena: ParameterArena) throws {
        try step(input: x, firstLayerProjection: nil, state: &state, output: y, gates: gates, workspace: ws, arena: arena)
    }

    /// `step(firstLayerProjection:…)`, also writing every layer's gate activations (L, B, G) as
    /// `step(input:state:output:gates:workspace:arena:)` does.
    public func step(firstLayerProjection p: UnsafePointer<Float>, state: inout RecurrentState,
                     output y: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>, workspace ws: StepWorkspace,
                     arena: ParameterArena) throws {
        try step(input: p, firstLayerProjection: p, state: &state, output: y, gates: gates, workspace: ws, arena: arena)
    }

    /// The first layer's input projection of R input rows: (R, P) = x (R, D)·W_ihᵀ + b_ih, row by row
    /// exactly as `step` computes it.
    /// - Parameter inputWeight: W_ih (P, D) to use in place of the arena's (the values a narrow
    ///   copy stands for, for reduced-precision inference); nil: the arena's.
    public func firstLayerProjections(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>,
                                      direction: Int = 0, inputWeight: UnsafePointer<Float>? = nil, arena: ParameterArena) {
        let cell = cells[direction]
        let (d, p) = (cell.inputSize, cell.projectionSize)
        GEMM.multiply(transB: true, m: rows, n: p, k: d, a: x, lda: d, b: inputWeight ?? UnsafePointer(arena.value(cell.inputWeight)),
                      ldb: d, beta: 0, c: output, ldc: p)
        if let bias = cell.inputBias { Elementwise.addBias(arena.value(bias), rows: rows, cols: p, to: output, ld: p) }
    }

    private func step(input x: UnsafePointer<Float>, firstLayerProjection: UnsafePointer<Float>?, state: inout RecurrentState,
                      output y: UnsafeMutablePointer<Float>, gates: UnsafeMutablePointer<Float>?, workspace ws: StepWorkspace,
                      arena: ParameterArena) throws {
        try require(!bidirectional, .invalidArgument(name: "stack", value: "bidirectional",
                                                     expected: "a unidirectional stack: the reverse direction needs the whole sequence"))
        try require(state.stateSize == stateSize && state.layers == layers,
                    .shapeMismatch(operation: "step state", expected: "(\(layers), B, \(stateSize))",
                                   found: "(\(state.layers), \(state.batch), \(state.stateSize))"))
        try require(firstLayerProjection != nil || ws.narrow.isEmpty || ws.narrow[0].input != nil,
                    .invalidArgument(name: "step input", value: "x_t",
                                     expected: "the first layer's projection: narrowWeights(firstLayerInput: false) kept no first-layer W_ih"))
        let b = state.batch
        ws.prepare(for: self, batch: b)
        var layerInput = x
        state.values.withUnsafeMutableBufferPointer { states in
            for l in 0..<layers {
                let out = l == layers - 1 ? y : ws.output(l)
                stepLayer(cells[l], layer: l, input: layerInput, projection: l == 0 ? firstLayerProjection : nil, batch: b,
                          state: states.baseAddress! + l * b * stateSize, output: out,
                          gates: gates.map { $0 + l * b * gateValueCount }, workspace: ws, arena: arena)
                layerInput = UnsafePointer(out)
            }
        }
    }

    /// Packs every layer's W_ih and W_hh into `workspace` for the GEMM kernel once, so each
    /// streaming `step` multiplies by them without packing them again (batch-1 generation reads
    /// each weight once per token). A layer whose W_hh has at least
    /// `RecurrentUnitSplit.streamingWeightBytes` also gets its weights split by hidden units, one
    /// part a thread (a second copy): its steps of up to 4 rows then run each core's products and
    /// its units' step in one hand-over (`UnitSplitWeights`). The results are bit-identical to
    /// unpacked steps. Pack again after the weights change; `StepWorkspace.forgetPackedWeights()`
    /// goes back to unpacked steps.
    public func packWeights(into ws: StepWorkspace, arena: ParameterArena) {
        ws.unitSplit = cells.map { cell in
            RecurrentUnitSplit.streamingParts(cell).flatMap {
                UnitSplitWeights(cell, parts: $0, capacity: RecurrentUnitSplit.streamingRows, arena: arena)
            }
        }
        ws.packed = cells.map { cell in
            let (d, p) = (cell.inputSize, cell.projectionSize)
            let input = UnsafeMutablePointer<Float>.allocate(capacity: GEMM.packedSize(n: p, k: d))
            GEMM.pack(transB: true, n: p, k: d, b: arena.value(cell.inputWeight), ldb: d, into: input)
            var recurrent: UnsafeMutablePointer<Float>?
            if let recurrence = cell.recurrence {
                let k = recurrence.inputSize
                recurrent = .allocate(capacity: GEMM.packedSize(n: p, k: k))
                GEMM.pack(transB: true, n: p, k: k, b: arena.value(recurrence.weight), ldb: k, into: recurrent!)
            }
            return (input, recurrent)
        }
    }

    /// Stores every layer's W_hh, and W_ih of every layer above the first, narrow in `workspace`
    /// (`precision` bf16, int8 or w8a8; see `NarrowMatrix`), so each streaming `step` multiplies by
    /// them: batch-1 generation reads half or a quarter of the bytes per token. The first layer's
    /// W_ih is stored only with `firstLayerInput`; without it, steps must give
    /// `firstLayerProjection` (a token model computes its per-symbol table from
    /// `NarrowMatrix.widened` weights). `.fp32` is `packWeights`. Narrow again after the weights
    /// change; `StepWorkspace.forgetPackedWeights()` goes back to the arena's weights.
    /// - Throws: `RecurrentError.invalidArgument` for a weight that is not finite.
    public func narrowWeights(_ precision: InferencePrecision, into ws: StepWorkspace, arena: ParameterArena,
                              firstLayerInput: Bool = true) throws {
        guard precision != .fp32 else {
            ws.narrow = []
            packWeights(into: ws, arena: arena)
            return
        }
        ws.packed = []
        ws.unitSplit = []
        ws.narrow = try cells.enumerated().map { l, cell in
            let (d, p) = (cell.inputSize, cell.projectionSize)
            let input = l > 0 || firstLayerInput
                ? try NarrowMatrix(precision, rows: p, cols: d, weights: arena.value(cell.inputWeight), name: "W_ih of layer \(l)")
                : nil
            var recurrent: NarrowMatrix?
            if let recurrence = cell.recurrence {
                recurrent = try NarrowMatrix(precision, rows: p, cols: recurrence.inputSize,
                                             weights: arena.value(recurrence.weight), name: "W_hh of layer \(l)")
            }
            return (input, recurrent)
        }
    }

    /// One step of layer l: a sequence of one step through the one unroller, the weights as
    /// `workspace` stores them, the state read and replaced in place.
    private func stepLayer<Cell: RecurrentCell>(_ cell: Cell, layer l: Int, input: UnsafePointer<Float>,
                                                projection given: UnsafePointer<Float>?, batch b: Int,
                                                state: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                                                gates: UnsafeMutablePointer<Float>?, workspace ws: StepWorkspace,
                                                arena: ParameterArena) {
        if gates == nil, let split = ws.unitSplit(l, batch: b) {
            // Few rows: each part of the units runs its products and its step (the same bits).
            cell.unitSplitStep(split, input: input, projection: given, batch: b, state: state, output: output)
            return
        }
        cell.unrollForward(input: input, batch: b, steps: 1, lengths: nil, initialState: state, output: output,
                           outputStride: nil, finalState: state, workspace: ws.layer, arena: arena,
                           projectInput: nil, inputProjection: given, weights: ws.weights(l))
        guard let gates else { return }
        // Read before the next layer's step reuses the unroller's workspace: its cache and states
        // are this step's.
        let (s, c, g, w) = (cell.stateSize, cell.cacheSize, gateValueCount, ws.layer)
        for r in 0..<b {
            cell.gateActivations(cache: w.cache(0) + r * c, previous: w.state(0) + r * s, state: w.state(1) + r * s,
                                 arena: arena, into: gates + r * g)
        }
    }
}

/// A first layer that reads tokens: ids (B, T), and per direction a table (V, P) of every
/// symbol's input projection (embedding·W_ihᵀ + b_ih) and its gradient (V, P), accumulated.
struct TokenInput {
    let ids: UnsafePointer<Int32>
    let tables: [UnsafePointer<Float>]
    let tableGradients: [UnsafeMutablePointer<Float>]
}

/// The state of a stack between streaming steps: (L, B, S), a value the caller holds.
public struct RecurrentState: Sendable, Equatable {
    public let layers: Int
    public let batch: Int
    public let stateSize: Int
    /// (L, B, S) scalars; for LSTM each row is [h | c].
    public var values: [Float]

    /// A zero state for `batch` rows of `stack`.
    public init(stack: RecurrentStack, batch: Int) {
        layers = stack.layers * stack.directions
        self.batch = batch
        stateSize = stack.stateSize
        values = [Float](repeating: 0, count: layers * batch * stateSize)
    }

    /// Zeroes row `row` in every layer: that stream starts afresh.
    public mutating func reset(row: Int) {
        precondition(row >= 0 && row < batch, "row \(row) out of 0..<\(batch)")
        for l in 0..<layers {
            let start = (l * batch + row) * stateSize
            for i in start..<(start + stateSize) { values[i] = 0 }
        }
    }
}
