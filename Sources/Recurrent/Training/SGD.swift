import CRecurrentKernels
import Foundation

/// Stochastic gradient descent with optional (heavy-ball) momentum and L2 weight decay,
/// as torch.optim.SGD: v = μ·v + (g + λθ); θ −= lr·v (Nesterov: θ −= lr·(g + λθ + μ·v)).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public var stepCount = 0
    public let moments: MomentBuffers

    /// SGD over `arena`'s parameters, PyTorch's defaults (no momentum, no decay).
    public init(arena: ParameterArena, learningRate: Float, momentum: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        moments = MomentBuffers(buffers: 1, count: arena.count)
    }

    /// One update of every parameter from the gradients in `arena`.
    public func step(_ arena: ParameterArena) {
        stepCount += 1
        let (w, g, v) = (arena.values, arena.gradients, moments.buffers[0])
        for i in 0..<arena.count {
            let gi = g[i] + weightDecay * w[i]
            if momentum == 0 {
                w[i] -= learningRate * gi
            } else {
                v[i] = stepCount == 1 ? gi : momentum * v[i] + gi
                w[i] -= learningRate * (nesterov ? gi + momentum * v[i] : v[i])
            }
        }
    }
}
