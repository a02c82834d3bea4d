import CRecurrentKernels
import Foundation

/// A rule that updates every parameter of an arena from its gradient. Moments live in flat
/// buffers with the arena's layout, so each step is one loop over all scalars.
public protocol Optimizer: AnyObject {
    /// The learning rate; schedules may change it between steps.
    var learningRate: Float { get set }
    /// Steps taken so far; set when a checkpoint restores the optimiser.
    var stepCount: Int { get set }
    /// The optimiser's state: moment buffers, each with the arena's layout; checkpoints save
    /// and restore them.
    var moments: MomentBuffers { get }
    /// Applies one update from the gradients currently in the arena.
    func step(_ arena: ParameterArena)
}

/// Owns `n` moment buffers of `count` scalars each, zeroed.
public final class MomentBuffers: @unchecked Sendable {
    public let count: Int
    public let buffers: [UnsafeMutablePointer<Float>]
    init(buffers n: Int, count: Int) {
        self.count = count
        buffers = (0..<n).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
    }
    deinit { buffers.forEach { $0.deallocate() } }
}
