/// Memory a `RecurrentLayer` needs for one forward/backward pair, allocated once and reused:
/// nothing is allocated inside the time loop. It grows when a larger (B, T) arrives.
///
/// Layout (time-major where the time loop walks it):
/// - projections (B, T, P) batch-first, as the input GEMM writes them; then their gradients;
/// - states (T+1, B, S): states[0] is the initial state;
/// - caches (T, B, C);
/// - stateGradient (B, S) and scratch (B, scratch);
/// - for variable lengths: saved state gradients (B, S) and one step's output gradient (B, H);
/// - the states' first K values s_{t−1}[0..<K] (B, T, K), for ∂W_hh in one GEMM, and Σ ∂P (P);
/// - for a cell whose recurrent product reaches the step apart: one step's q (B, P), every
///   step's ∂q (B, T, P) and Σ ∂q (P);
/// - for a cell linear in its state, run as a scan: its coefficients a (B, T, S). (The scan
///   keeps its caches in (B, T, C) order.)
/// - for a cell whose output is projected: every step's m (B, T, M), every step's ∂h (B, T, H)
///   and one step's ∂m (B, M).
public final class RecurrentWorkspace: @unchecked Sendable {
    private(set) var capacity = 0
    private(set) var buffer: UnsafeMutablePointer<Float>
    private(set) var batch = 0
    private(set) var steps = 0
    private(set) var sizes = (p: 0, s: 0, c: 0, scratch: 0, h: 0, k: 0, apart: 0, scan: 0, m: 0)

    /// The weight drop's W_hh ⊙ mask, the mask, and room for ∂(W_hh ⊙ mask), each P·K, while a
    /// training forward of a stack with `weightDrop` > 0 has set them (for its backward too).
    private var dropBuffer: UnsafeMutablePointer<Float>?
    private var dropCapacity = 0
    private(set) var droppedRecurrentWeight: (weight: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
                                              gradient: UnsafeMutablePointer<Float>)?

    /// An empty workspace; it grows to the largest batch it meets.
    public init() { buffer = .allocate(capacity: 1) }
    deinit {
        buffer.deallocate()
        dropBuffer?.deallocate()
    }

    /// Room for the weight drop of a W_hh of `count` values, which the unroller then reads in
    /// place of the arena's W_hh until `useArenaRecurrentWeight`: the caller fills both.
    func dropRecurrentWeight(count: Int) -> (weight: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>) {
        if dropCapacity < 3 * count {
            dropBuffer?.deallocate()
            dropBuffer = .allocate(capacity: 3 * count)
            dropCapacity = 3 * count
        }
        let base = dropBuffer!
        droppedRecurrentWeight = (base, base + count, base + 2 * count)
        return (base, base + count)
    }

    /// Back to the arena's W_hh (evaluation, or a stack without weight drop).
    func useArenaRecurrentWeight() { droppedRecurrentWeight = nil }

    /// W_hh as this forward and backward use it: dropped (`dropRecurrentWeight`) or the arena's.
    func recurrentWeight(_ recurrence: Recurrence, arena: ParameterArena) -> UnsafePointer<Float> {
        UnsafePointer(droppedRecurrentWeight?.weight ?? arena.value(recurrence.weight))
    }

    /// Lays the buffers out for B rows and T steps of `cell`.
    /// - Parameter recurrence: `cell.recurrence`, read once by the caller.
    func prepare<Cell: RecurrentCell>(for cell: Cell, recurrence: Recurrence?, batch: Int, steps: Int) {
        self.batch = batch
        self.steps = steps
        let apart = recurrence?.product == .apart ? cell.projectionSize : 0
        let scan = cell.isLinearInState && steps > 1 ? cell.stateSize : 0
        let m = cell.outputProjection?.cols ?? 0
        sizes = (cell.projectionSize, cell.stateSize, cell.cacheSize, cell.scratchSize, cell.outputSize,
                 recurrence?.inputSize ?? 0, apart, scan, m)
        let need = 2 * batch * steps * sizes.p + (steps + 1) * batch * sizes.s + steps * batch * sizes.c
            + batch * sizes.s + batch * sizes.scratch + batch * sizes.s + batch * sizes.h + batch * steps * sizes.k + sizes.p
            + batch * apart + batch * steps * apart + apart + batch * steps * scan
            + (m > 0 ? batch * steps * (m + sizes.h) + batch * m : 0)
        if need > capacity {
            buffer.deallocate()
            capacity = need
            buffer = .allocate(capacity: need)
            buffer.initialize(repeating: 0, count: need)
        }
    }

    var projections: UnsafeMutablePointer<Float> { buffer }
    var projectionGradients: UnsafeMutablePointer<Float> { buffer + batch * steps * sizes.p }
    var states: UnsafeMutablePointer<Float> { buffer + 2 * batch * steps * sizes.p }
    /// state_t (B, S) for t in 0...T, where state_0 is the initial state.
    func state(_ t: Int) -> UnsafeMutablePointer<Float> { states + t * batch * sizes.s }
    var caches: UnsafeMutablePointer<Float> { states + (steps + 1) * batch * sizes.s }
    func cache(_ t: Int) -> UnsafeMutablePointer<Float> { caches + t * batch * sizes.c }
    var stateGradient: UnsafeMutablePointer<Float> { caches + steps * batch * sizes.c }
    var scratch: UnsafeMutablePointer<Float> { stateGradient + batch * sizes.s }
    var savedStateGradient: UnsafeMutablePointer<Float> { scratch + batch * sizes.scratch }
    var stepOutputGradient: UnsafeMutablePointer<Float> { savedStateGradient + batch * sizes.s }
    /// s_{t−1}[0..<K] of every row and step (B, T, K), gathered for the one ∂W_hh GEMM.
    var previousOutputs: UnsafeMutablePointer<Float> { stepOutputGradient + batch * sizes.h }
    /// Σ over all B·T rows of ∂P (P): the bias gradients' shared increment.
    var biasGradientSums: UnsafeMutablePointer<Float> { previousOutputs + batch * steps * sizes.k }
    /// One step's recurrent product q (B, P), for a cell that takes it apart.
    var recurrentProducts: UnsafeMutablePointer<Float> { biasGradientSums + sizes.p }
    /// ∂q of every row and step (B, T, P), for a cell that takes q apart.
    var recurrentGradients: UnsafeMutablePointer<Float> { recurrentProducts + batch * sizes.apart }
    /// Σ over all B·T rows of ∂q (P): ∂b_hh's increment.
    var recurrentBiasGradientSums: UnsafeMutablePointer<Float> { recurrentGradients + batch * steps * sizes.apart }
    /// The scan's a (B, T, S), every step's.
    var scanA: UnsafeMutablePointer<Float> { recurrentBiasGradientSums + sizes.apart }
    /// m of every row and step (B, T, M), the output before its projection.
    var unprojectedOutputs: UnsafeMutablePointer<Float> { scanA + batch * steps * sizes.scan }
    /// ∂h of every row and step (B, T, H), for ∂W_hr in one GEMM.
    var projectedGradients: UnsafeMutablePointer<Float> { unprojectedOutputs + batch * steps * sizes.m }
    /// One step's ∂m (B, M).
    var unprojectedGradient: UnsafeMutablePointer<Float> { projectedGradients + (sizes.m > 0 ? batch * steps * sizes.h : 0) }
}
