import CRecurrentKernels
import Foundation

/// Adagrad (Duchi et al. 2011), as min-char-rnn uses it: s += g²; θ −= lr·g / (√s + ε).
public final class Adagrad: Optimizer {
    public var learningRate: Float
    public let epsilon: Float
    public var stepCount = 0
    public let moments: MomentBuffers

    /// Adagrad over `arena`'s parameters.
    public init(arena: ParameterArena, learningRate: Float, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.epsilon = epsilon
        moments = MomentBuffers(buffers: 1, count: arena.count)
    }

    /// One update of every parameter from the gradients in `arena`.
    public func step(_ arena: ParameterArena) {
        stepCount += 1
        let (w, g, s) = (arena.values, arena.gradients, moments.buffers[0])
        for i in 0..<arena.count {
            s[i] += g[i] * g[i]
            w[i] -= learningRate * g[i] / (s[i].squareRoot() + epsilon)
        }
    }
}
