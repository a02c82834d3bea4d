import Foundation
import Recurrent

/// The lecture's "perfect roommate" network made trainable.
///
/// The hand-wired network computes Add = Food·yesterday + Weather·today, keeps the entries
/// where both agree, and merges the two halves into today's dish. This cell has the same
/// matrices, with biases and smooth functions so it can learn them from random weights:
///
///     a_t = Weather·x_t + b_add + Food·p_{t−1}      (6)
///     u_t = σ(a_t)                                   (6)
///     z_t = Merge·u_t + b_merge                      (3)   the output: logits of today's dish
///     p_t = softmax(z_t)                             (3)   the state: fed back as "yesterday"
///
/// Shapes: `weather` (6, 2) is W_ih, `food` (6, 3) the recurrent weight, `merge` (3, 6).
/// The state is a probability vector over the three dishes; the initial state is the
/// one-hot vector of the dish cooked the day before the first day.
package struct RoommateCell: RecurrentCell {
    public static let dishes = 3
    public static let weathers = 2
    public static let units = 6

    public let inputWeight: Parameter     // Weather (6, 2)
    public let inputBias: Parameter?      // b_add (6)
    public let food: Parameter            // Food (6, 3)
    public let merge: Parameter           // Merge (3, 6)
    public let mergeBias: Parameter       // b_merge (3)

    public var inputSize: Int { Self.weathers }
    public var outputSize: Int { Self.dishes }
    public var stateSize: Int { Self.dishes }
    public var projectionSize: Int { Self.units }
    public var cacheSize: Int { Self.units }            // u_t
    public var scratchSize: Int { Self.dishes + Self.units }

    /// Registers `prefix.weather`, `prefix.add_bias`, `prefix.food`, `prefix.merge`,
    /// `prefix.merge_bias`, all drawn U(±1/√fan-in) — "start with random weights".
    public init(_ prefix: String = "roommate", layout: inout ParameterLayout) {
        func u(_ fanIn: Int) -> Initializer {
            let b = 1 / Float(fanIn).squareRoot()
            return .uniform(low: -b, high: b)
        }
        inputWeight = layout.add("\(prefix).weather", rows: Self.units, cols: Self.weathers, initializer: u(Self.weathers))
        inputBias = layout.add("\(prefix).add_bias", rows: Self.units, initializer: u(Self.weathers))
        food = layout.add("\(prefix).food", rows: Self.units, cols: Self.dishes, initializer: u(Self.dishes))
        merge = layout.add("\(prefix).merge", rows: Self.dishes, cols: Self.units, initializer: u(Self.units))
        mergeBias = layout.add("\(prefix).merge_bias", rows: Self.dishes, initializer: u(Self.units))
    }

    /// Food reads yesterday's dish (the state) and is added onto Weather·x_t + b_add.
    public var recurrence: Recurrence? { Recurrence(weight: food, bias: nil, product: .added) }

    /// Merge's gradients accumulate in every step's backward: the batch runs as one part.
    public var backwardIsRowParallel: Bool { false }

    /// a_t = Weather·x_t + b_add + Food·p_{t−1} arrives in `projection`; u, z and p_t from it.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output z: UnsafeMutablePointer<Float>, outputStride ldz: Int,
                        cache u: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let (n, k) = (Self.units, Self.dishes)
        for r in 0..<batch {
            for j in 0..<n { u[r * n + j] = Elementwise.sigmoid(a[r * lda + j]) }
        }
        // z (B, 3) = u·Mergeᵀ + b_merge
        GEMM.multiply(transB: true, m: batch, n: k, k: n, a: u, lda: n, b: arena.value(merge), ldb: n,
                      beta: 0, c: z, ldc: ldz)
        Elementwise.addBias(arena.value(mergeBias), rows: batch, cols: k, to: z, ld: ldz)
        for r in 0..<batch {
            Softmax.row(z + r * ldz, count: k, into: state + r * k)
        }
    }

    /// ∂a from ∂z = ∂y_t + softmax'ᵀ·∂p_t; yesterday's dish reaches the loss only through Food.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state p: UnsafePointer<Float>,
                         outputGradient dzOut: UnsafePointer<Float>, outputStride ldz: Int,
                         cache u: UnsafePointer<Float>, stateGradient dp: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let (n, k) = (Self.units, Self.dishes)
        let dz = scratch, du = scratch + batch * k
        // ∂z = ∂y_t + softmax'ᵀ·∂p_t, where softmax'ᵀ·g = p ⊙ (g − ⟨p, g⟩).
        for r in 0..<batch {
            let pr = p + r * k, gr = dp + r * k
            var dot: Float = 0
            for j in 0..<k { dot += pr[j] * gr[j] }
            for j in 0..<k { dz[r * k + j] = dzOut[r * ldz + j] + pr[j] * (gr[j] - dot) }
        }
        // ∂Merge (3, 6) += ∂zᵀ·u; ∂b_merge += Σ ∂z; ∂u = ∂z·Merge.
        GEMM.multiply(transA: true, m: k, n: n, k: batch, a: dz, lda: k, b: u, ldb: n, beta: 1,
                      c: arena.gradient(merge), ldc: n)
        Elementwise.addColumnSums(dz, rows: batch, cols: k, ld: k, into: arena.gradient(mergeBias))
        GEMM.multiply(m: batch, n: n, k: k, a: dz, lda: k, b: arena.value(merge), ldb: n, beta: 0, c: du, ldc: n)
        // ∂a = ∂u ⊙ u(1 − u)
        for r in 0..<batch {
            for j in 0..<n {
                let v = u[r * n + j]
                da[r * lda + j] = du[r * n + j] * v * (1 - v)
            }
        }
        dp.update(repeating: 0, count: batch * k)
    }
}
