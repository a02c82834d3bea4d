/// Buffers of a `RecurrentStack`'s forward/backward pair, grown on demand and reused, so the
/// time loop allocates nothing: one `RecurrentWorkspace` per (layer, direction), each inner
/// layer's output (B, T, dirs·H), dropout masks, time-reversed copies for reverse directions,
/// and two gradient buffers that alternate between layers.
public final class RecurrentStackWorkspace: @unchecked Sendable {
    private(set) var layers: [RecurrentWorkspace] = []
    /// The buffers by role (and layer or cell index where a role has one per layer).
    private enum Key: Hashable {
        case gradient(Int), output(Int), mask(Int), dropped(Int), reversedInput(Int)
        case reversedOutput, reversedInputGradient, reversedScratch
    }
    private var arrays: [Key: (pointer: UnsafeMutablePointer<Float>, capacity: Int)] = [:]
    private var batch = 0, steps = 0, outputSize = 0, hidden = 0, maxInput = 0
    var dropoutActive = false
    /// Valid steps per row (B): the caller's lengths, or T for every row.
    private var lengths: UnsafeMutablePointer<Int32>
    private var lengthsCapacity = 1
    /// Table row read at each (b, t) of a token input, −1 for none (B·T).
    private var tokenRows: UnsafeMutablePointer<Int32>
    private var tokenRowsCapacity = 1
    private var hasLengths = false
    /// Which of the two alternating gradient buffers is the current layer's input gradient.
    private var flipped = false

    /// An empty workspace; buffers grow to the largest batch they meet.
    public init() {
        lengths = .allocate(capacity: 1)
        tokenRows = .allocate(capacity: 1)
    }

    deinit {
        arrays.values.forEach { $0.pointer.deallocate() }
        lengths.deallocate()
        tokenRows.deallocate()
    }

    /// The table row each (b, t) of the direction reads: token `ids[b, t]` forwards; backwards,
    /// row b's tokens from its own last valid step, and −1 (no row) past its length.
    func tokenRows(_ ids: UnsafePointer<Int32>, reverse: Bool) -> UnsafePointer<Int32> {
        let count = batch * steps
        if count > tokenRowsCapacity {
            tokenRows.deallocate()
            tokenRows = .allocate(capacity: count)
            tokenRowsCapacity = count
        }
        for r in 0..<batch {
            let n = reverse ? length(r) : steps
            for step in 0..<steps {
                tokenRows[r * steps + step] = step < n ? ids[r * steps + (reverse ? n - 1 - step : step)] : -1
            }
        }
        return UnsafePointer(tokenRows)
    }

    private func array(_ name: Key, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let a = arrays[name], a.capacity >= count { return a.pointer }
        arrays[name]?.pointer.deallocate()
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        arrays[name] = (p, max(count, 1))
        return p
    }

    func prepare(for stack: RecurrentStack, batch: Int, steps: Int, lengths given: UnsafePointer<Int32>?) {
        self.batch = batch
        self.steps = steps
        outputSize = stack.outputSize
        hidden = stack.layerOutputSize
        maxInput = max(stack.inputSize, stack.outputSize)
        while layers.count < stack.cells.count { layers.append(RecurrentWorkspace()) }
        if batch > lengthsCapacity {
            lengths.deallocate()
            lengths = .allocate(capacity: batch)
            lengthsCapacity = batch
        }
        hasLengths = given != nil
        if let given {
            self.lengths.update(from: given, count: batch)
        } else {
            self.lengths.update(repeating: Int32(steps), count: batch)
        }
        flipped = false
    }

    var lengthsPointer: UnsafePointer<Int32>? { hasLengths ? UnsafePointer(lengths) : nil }
    /// Valid steps of row r (T without lengths).
    func length(_ r: Int) -> Int { Int(lengths[r]) }

    /// ∂(current layer's input) (B, T, max(D, dirs·H)) and the gradient arriving from the layer
    /// above; `swapGradients` turns the first into the second for the next layer down.
    var inputGradient: UnsafeMutablePointer<Float> { array(.gradient(flipped ? 1 : 0), batch * steps * maxInput) }
    var upstreamGradient: UnsafeMutablePointer<Float> { array(.gradient(flipped ? 0 : 1), batch * steps * maxInput) }
    func swapGradients() { flipped.toggle() }

    func layerOutput(_ l: Int) -> UnsafeMutablePointer<Float> { array(.output(l), batch * steps * outputSize) }
    func dropoutMask(_ l: Int) -> UnsafeMutablePointer<Float> { array(.mask(l), batch * steps * outputSize) }
    func droppedInput(_ l: Int) -> UnsafeMutablePointer<Float> { array(.dropped(l), batch * steps * outputSize) }
    /// The time-reversed input of cell `index`, kept from forward for backward.
    func reversedInput(_ index: Int) -> UnsafeMutablePointer<Float> { array(.reversedInput(index), batch * steps * maxInput) }
    var reversedOutput: UnsafeMutablePointer<Float> { array(.reversedOutput, batch * steps * hidden) }
    var reversedInputGradient: UnsafeMutablePointer<Float> { array(.reversedInputGradient, batch * steps * maxInput) }
    var reversedScratch: UnsafeMutablePointer<Float> { array(.reversedScratch, batch * steps * maxInput) }

    /// dst[b, t] = src[b, len_b − 1 − t] for t < len_b and 0 after: each row reversed within
    /// its own length (an involution, so the same call maps back).
    func reverseTime(_ src: UnsafePointer<Float>, width: Int, stride ls: Int, into dst: UnsafeMutablePointer<Float>,
                     stride ld: Int, batch b: Int, steps t: Int) {
        for r in 0..<b {
            let n = Int(lengths[r])
            for s in 0..<t {
                let to = dst + (r * t + s) * ld
                if s < n {
                    to.update(from: src + (r * t + n - 1 - s) * ls, count: width)
                } else {
                    to.update(repeating: 0, count: width)
                }
            }
        }
    }
}

/// What `RecurrentStack.step` keeps between steps: the one-step unroll's workspace, the inner
/// layers' outputs, and the weights packed or narrowed once for many steps.
public final class StepWorkspace: @unchecked Sendable {
    private var buffer: UnsafeMutablePointer<Float>
    private var capacity = 0
    private var sizes = (h: 0, b: 0)
    /// The unroller's workspace, shared by the layers (each step runs them one after another).
    let layer = RecurrentWorkspace()
    /// Per layer, W_ih and W_hh packed by `RecurrentStack.packWeights` (empty: unpacked steps).
    var packed: [(input: UnsafeMutablePointer<Float>, recurrent: UnsafeMutablePointer<Float>?)] = [] {
        willSet { freePacked() }
        didSet { storeWeights() }
    }
    /// Per layer, W_ih and W_hh stored narrow by `RecurrentStack.narrowWeights` (empty: float32
    /// steps); W_ih is nil for a first layer whose projection the caller gives.
    var narrow: [(input: NarrowMatrix?, recurrent: NarrowMatrix?)] = [] {
        didSet { storeWeights() }
    }
    /// Per layer, how a step reads W_ih and W_hh: worked out once when they are packed or narrowed.
    private var layerWeights: [LayerWeights] = []
    /// Per layer, W_ih and W_hh split by hidden units for steps of few rows (`packWeights`); nil
    /// for a layer that steps by rows.
    var unitSplit: [UnitSplitWeights?] = []

    private func storeWeights() {
        if !narrow.isEmpty {
            layerWeights = narrow.map { LayerWeights(input: $0.input.map { .narrow($0) } ?? .arena,
                                                     recurrent: $0.recurrent.map { .narrow($0) } ?? .arena) }
        } else {
            layerWeights = packed.map { LayerWeights(input: .packed($0.input), recurrent: $0.recurrent.map { .packed($0) } ?? .arena) }
        }
    }

    /// An empty workspace; it grows to the largest step it meets.
    public init() { buffer = .allocate(capacity: 1) }
    deinit {
        buffer.deallocate()
        freePacked()
    }

    private func freePacked() {
        for p in packed {
            p.input.deallocate()
            p.recurrent?.deallocate()
        }
    }

    /// Steps use the weights in the arena again, not the packed or narrow copies.
    public func forgetPackedWeights() {
        packed = []
        narrow = []
        unitSplit = []
    }

    func prepare(for stack: RecurrentStack, batch b: Int) {
        sizes = (stack.outputSize, b)
        let need = b * stack.layers * sizes.h
        if need > capacity {
            buffer.deallocate()
            buffer = .allocate(capacity: need)
            buffer.initialize(repeating: 0, count: need)
            capacity = need
        }
    }

    /// Layer l's output y_t (B, H).
    func output(_ l: Int) -> UnsafeMutablePointer<Float> { buffer + l * sizes.b * sizes.h }

    /// How layer l's step reads its weights.
    func weights(_ l: Int) -> LayerWeights { l < layerWeights.count ? layerWeights[l] : LayerWeights() }

    /// Layer l's unit-split weights, when a step of `batch` rows takes them.
    func unitSplit(_ l: Int, batch: Int) -> UnitSplitWeights? {
        guard l < unitSplit.count, let w = unitSplit[l], batch <= w.capacity, RecurrentUnitSplit.enabled else { return nil }
        return w
    }
}
