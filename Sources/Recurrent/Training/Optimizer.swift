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

/// Global-norm gradient clipping (Pascanu et al. 2013), as torch.nn.utils.clip_grad_norm_.
public enum GradientClipping {
    /// The L2 norm of all gradients in the arena together.
    public static func globalNorm(_ arena: ParameterArena) -> Float {
        // Accumulated in double (vectorised, a fixed order for a given length and path).
        Float(rk_sum_squares(arena.count, arena.gradients).squareRoot())
    }

    /// Scales every gradient by maxNorm / (norm + 1e-6) when the global norm exceeds maxNorm.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clip(_ arena: ParameterArena, maxNorm: Float) -> Float {
        let norm = globalNorm(arena)
        if norm > maxNorm {
            let scale = maxNorm / (norm + 1e-6)
            rk_scale(arena.count, arena.gradients, scale)
        }
        return norm
    }
}
