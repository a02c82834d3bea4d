import CRecurrentKernels
import Foundation

/// RMSprop (Tieleman & Hinton 2012), as torch.optim.RMSprop: s = α·s + (1 − α)·g²;
/// θ −= lr·g / (√s + ε).
public final class RMSprop: Optimizer {
    public var learningRate: Float
    public let alpha: Float
    public let epsilon: Float
    public var stepCount = 0
    public let moments: MomentBuffers

    /// RMSprop over `arena`'s parameters, PyTorch's defaults.
    public init(arena: ParameterArena, learningRate: Float, alpha: Float = 0.99, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        moments = MomentBuffers(buffers: 1, count: arena.count)
    }

    /// One update of every parameter from the gradients in `arena`.
    public func step(_ arena: ParameterArena) {
        stepCount += 1
        let (w, g, s) = (arena.values, arena.gradients, moments.buffers[0])
        for i in 0..<arena.count {
            s[i] = alpha * s[i] + (1 - alpha) * g[i] * g[i]
            w[i] -= learningRate * g[i] / (s[i].squareRoot() + epsilon)
        }
    }
}
