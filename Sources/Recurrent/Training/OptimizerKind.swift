/// The optimisers by name, and access to their state for checkpoints.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case adam, adagrad, rmsprop, sgd

    /// A new optimiser of this kind over `arena`, with PyTorch's defaults for everything but
    /// the learning rate (SGD: no momentum).
    public func make(arena: ParameterArena, learningRate: Float) -> any Optimizer {
        switch self {
        case .adam: return Adam(arena: arena, learningRate: learningRate)
        case .adagrad: return Adagrad(arena: arena, learningRate: learningRate)
        case .rmsprop: return RMSprop(arena: arena, learningRate: learningRate)
        case .sgd: return SGD(arena: arena, learningRate: learningRate)
        }
    }
}

extension Optimizer {
    /// The moment buffers (each the arena's layout) of this optimiser.
    package var momentBuffers: MomentBuffers {
        switch self {
        case let o as Adam: return o.moments
        case let o as Adagrad: return o.moments
        case let o as RMSprop: return o.moments
        case let o as SGD: return o.moments
        default: preconditionFailure("unknown optimiser \(type(of: self))")
        }
    }

    /// Sets the number of steps taken, when restoring a checkpoint.
    package func restore(stepCount: Int) {
        switch self {
        case let o as Adam: o.stepCount = stepCount
        case let o as Adagrad: o.stepCount = stepCount
        case let o as RMSprop: o.stepCount = stepCount
        case let o as SGD: o.stepCount = stepCount
        default: preconditionFailure("unknown optimiser \(type(of: self))")
        }
    }
}
