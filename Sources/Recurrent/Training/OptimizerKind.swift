/// The optimisers by name, and access to their state for checkpoints.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case adam, adamw, adagrad, rmsprop, sgd

    /// A new optimiser of this kind over `arena`, with PyTorch's defaults for everything but
    /// the learning rate (SGD: no momentum; AdamW: decoupled weight decay 0.01).
    public func make(arena: ParameterArena, learningRate: Float) -> any Optimizer {
        switch self {
        case .adam: return Adam(arena: arena, learningRate: learningRate)
        case .adamw: return Adam.adamW(arena: arena, learningRate: learningRate)
        case .adagrad: return Adagrad(arena: arena, learningRate: learningRate)
        case .rmsprop: return RMSprop(arena: arena, learningRate: learningRate)
        case .sgd: return SGD(arena: arena, learningRate: learningRate)
        }
    }
}
