import CRecurrentKernels
import Foundation

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as torch.optim.Adam/AdamW:
/// m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²; θ −= lr·m̂ / (√v̂ + ε) with bias-corrected m̂, v̂.
/// Weight decay λ is L2 (added to g) for Adam, decoupled (θ −= lr·λ·θ) for AdamW.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let decoupledWeightDecay: Bool
    public var stepCount = 0
    public let moments: MomentBuffers

    /// Adam over `arena`'s parameters, PyTorch's defaults; `decoupledWeightDecay` makes it AdamW.
    public init(arena: ParameterArena, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        moments = MomentBuffers(buffers: 2, count: arena.count)
    }

    /// AdamW with PyTorch's default decay 0.01.
    public static func adamW(arena: ParameterArena, learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(arena: arena, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// One update of every parameter from the gradients in `arena`.
    public func step(_ arena: ParameterArena) {
        stepCount += 1
        let t = Double(stepCount)
        let c1 = Float(1 - Foundation.pow(Double(beta1), t))
        let c2 = Float(1 - Foundation.pow(Double(beta2), t))
        let stepSize = learningRate / c1
        let c2Root = c2.squareRoot()
        let (w, g, m, v) = (arena.values, arena.gradients, moments.buffers[0], moments.buffers[1])
        // One vectorised flat loop, the same operations per scalar as
        //   g += λθ (or θ −= lr·λ·θ); m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²;
        //   θ −= (lr/c₁)·m / (√v/√c₂ + ε).
        rk_adam(arena.count, w, g, m, v, learningRate, beta1, beta2, epsilon, weightDecay,
                decoupledWeightDecay ? 1 : 0, stepSize, c2Root)
    }
}
