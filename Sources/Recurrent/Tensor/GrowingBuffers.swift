/// Float buffers by slot, each grown on demand (contents kept when no growth is needed, so a
/// backward pass reads what its forward wrote); freed in `deinit`.
package final class GrowingBuffers<Slot: RawRepresentable & CaseIterable>: @unchecked Sendable where Slot.RawValue == Int {
    private var buffers: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)]

    package init() {
        buffers = Slot.allCases.map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            p.initialize(to: 0)
            return (p, 1)
        }
    }

    deinit { buffers.forEach { $0.pointer.deallocate() } }

    /// The buffer of `slot` with room for at least `count` scalars.
    package func callAsFunction(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        if buffers[slot.rawValue].capacity < count {
            buffers[slot.rawValue].pointer.deallocate()
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            buffers[slot.rawValue] = (p, count)
        }
        return buffers[slot.rawValue].pointer
    }
}
