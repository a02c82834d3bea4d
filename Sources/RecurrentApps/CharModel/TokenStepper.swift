import Recurrent
/// Batch-1 inference of a character model, one token at a time: what `sample` and the
/// reduced-precision score run. `step(id)` reads a token and leaves the logits (V) of the next.
///
/// Set up once: the first layer's input projection of every symbol, E·W_ihᵀ + b_ih (V, P), so a
/// token looks its row up instead of multiplying; and every other weight matrix either packed for
/// the GEMM kernel (`.fp32`, bit-identical to unpacked products) or stored narrow
/// (`RecurrentStack.narrowWeights`, `NarrowMatrix`): every W_hh, W_ih above the first layer and
/// the head's W. With a narrow precision the table is computed from the first layer's W_ih as the
/// precision stores it (narrowed and widened back), so every weight a token meets is narrow.
///
/// `step(_:state:)` runs up to `capacity` independent rows at once (the `GenerationEngine`'s
/// batched step): every kernel on the path computes a row the same whatever the row count, so
/// each row gets the bits batch 1 gives it.
final class TokenStepper {
    let model: CharLanguageModel
    let precision: InferencePrecision
    /// The logits after the last `step`, (V) or (B, V) for a batched step; the caller may overwrite them.
    let logits: UnsafeMutablePointer<Float>
    /// The most rows a batched step takes.
    let capacity: Int
    /// The stack's state after the last `step`.
    private(set) var state: RecurrentState
    private let workspace = StepWorkspace()
    private let output: UnsafeMutablePointer<Float>     // y_t (capacity, H)
    private let table: UnsafeMutablePointer<Float>      // (V, P)
    private let gathered: UnsafeMutablePointer<Float>   // a batched step's rows of the table (capacity, P)
    private let projectionSize: Int                     // P of the first layer
    private var headPacked: UnsafeMutablePointer<Float>?
    private var headNarrow: NarrowMatrix?

    /// - Parameter capacity: the most rows a batched step takes (1: batch-1 `step(_:)` only).
    /// - Throws: `RecurrentError.invalidArgument` for a weight that is not finite (narrow precisions).
    init(_ model: CharLanguageModel, precision: InferencePrecision, capacity: Int = 1) throws {
        self.model = model
        self.precision = precision
        self.capacity = max(1, capacity)
        let (stack, head, arena) = (model.model.stack, model.model.head, model.arena)
        let v = model.configuration.vocabulary.count
        let first = stack.cells[0]
        let p0 = first.projectionSize
        projectionSize = p0
        state = RecurrentState(stack: stack, batch: 1)
        logits = .allocate(capacity: self.capacity * v)
        logits.initialize(repeating: 0, count: self.capacity * v)
        output = .allocate(capacity: self.capacity * stack.outputSize)
        output.initialize(repeating: 0, count: self.capacity * stack.outputSize)
        table = .allocate(capacity: v * p0)
        gathered = .allocate(capacity: self.capacity * p0)
        gathered.initialize(repeating: 0, count: self.capacity * p0)
        let embedding = arena.value(model.model.embedding!.weight)
        if precision == .fp32 {
            stack.packWeights(into: workspace, arena: arena)
            headPacked = .allocate(capacity: GEMM.packedSize(n: v, k: head.inputSize))
            GEMM.pack(transB: true, n: v, k: head.inputSize, b: arena.value(head.weight), ldb: head.inputSize, into: headPacked!)
            stack.firstLayerProjections(embedding, rows: v, output: table, arena: arena)
        } else {
            try stack.narrowWeights(precision, into: workspace, arena: arena, firstLayerInput: false)
            headNarrow = try NarrowMatrix(precision, rows: v, cols: head.inputSize, weights: arena.value(head.weight),
                                          name: head.weight.name)
            let widened = UnsafeMutablePointer<Float>.allocate(capacity: p0 * first.inputSize)
            defer { widened.deallocate() }
            try NarrowMatrix(precision, rows: p0, cols: first.inputSize, weights: arena.value(first.inputWeight),
                             name: first.inputWeight.name).widened(into: widened)
            stack.firstLayerProjections(embedding, rows: v, output: table, inputWeight: widened, arena: arena)
        }
    }

    deinit {
        logits.deallocate()
        output.deallocate()
        table.deallocate()
        gathered.deallocate()
        headPacked?.deallocate()
    }

    /// Reads token `id` (in 0..<V) and writes the next token's logits; with `gates`, every layer's
    /// gate activations (L, 1, G) too (`RecurrentStack.step(…, gates:…)`: the same logits).
    func step(_ id: Int32, gates: UnsafeMutablePointer<Float>? = nil) throws {
        let (stack, arena) = (model.model.stack, model.arena)
        let projection = table + Int(id) * projectionSize
        if let gates {
            try stack.step(firstLayerProjection: projection, state: &state, output: output, gates: gates,
                           workspace: workspace, arena: arena)
        } else {
            try stack.step(firstLayerProjection: projection, state: &state, output: output, workspace: workspace, arena: arena)
        }
        head(rows: 1)
    }

    /// Reads one token per row of `state` — ids (B), B ≤ `capacity` — and writes each row's next
    /// logits (B, V); `state` (L, B, S) is the rows' own, held by the caller.
    /// - Throws: `RecurrentError.shapeMismatch` for a state of another stack.
    func step(_ ids: UnsafePointer<Int32>, state: inout RecurrentState) throws {
        let (stack, arena) = (model.model.stack, model.arena)
        let b = state.batch
        precondition(b >= 1 && b <= capacity, "batch \(b) out of 1...\(capacity)")
        for r in 0..<b {
            (gathered + r * projectionSize).update(from: table + Int(ids[r]) * projectionSize, count: projectionSize)
        }
        try stack.step(firstLayerProjection: gathered, state: &state, output: output, workspace: workspace, arena: arena)
        head(rows: b)
    }

    /// logits (B, V) = the head of y_t (B, H), the weight as the precision stores it.
    private func head(rows b: Int) {
        let (head, arena) = (model.model.head, model.arena)
        if let headNarrow {
            head.forward(output, rows: b, output: logits, arena: arena, narrowWeight: headNarrow)
        } else {
            head.forward(output, rows: b, output: logits, arena: arena, packedWeight: headPacked!)
        }
    }
}
