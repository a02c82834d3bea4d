import CRecurrentKernels
import Foundation

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
