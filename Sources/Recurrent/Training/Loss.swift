import CRecurrentKernels
import Foundation

/// Numerically stable softmax.
public enum Softmax {
    /// out = softmax(x) over `count` entries, subtracting the maximum first so exp never overflows.
    @inline(__always)
    public static func row(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        var m = -Float.infinity
        for j in 0..<count { m = max(m, x[j]) }
        var sum: Float = 0
        for j in 0..<count {
            let e = Foundation.exp(x[j] - m)
            out[j] = e
            sum += e
        }
        let inv = 1 / sum
        for j in 0..<count { out[j] *= inv }
    }
}

/// Loss functions. Each returns the mean loss and, when asked, writes (=, not +=) its
/// gradient: the seed of the backward pass.
public enum Loss {
    /// Softmax cross-entropy, L = mean over counted rows of −log softmax(z_r)[y_r].
    ///
    /// Computed as log-sum-exp(z) − z_y with the maximum subtracted, so it is finite for any
    /// finite logits. Rows whose target is negative are ignored (PyTorch's ignore_index) and
    /// get a zero gradient.
    /// - Parameters:
    ///   - logits: z (R, V).
    ///   - targets: y (R), class ids in 0..<V or negative to ignore.
    ///   - gradient: ∂L/∂z (R, V), written when given: (softmax(z) − onehot(y)) / counted rows.
    /// - Returns: the mean loss over counted rows (0 when none) and that count.
    @discardableResult
    public static func softmaxCrossEntropy(logits z: UnsafePointer<Float>, rows: Int, classes v: Int,
                                           targets: UnsafePointer<Int32>,
                                           gradient dz: UnsafeMutablePointer<Float>?) -> (loss: Float, count: Int) {
        var counted = 0
        for r in 0..<rows where targets[r] >= 0 {
            precondition(Int(targets[r]) < v, "target \(targets[r]) out of range 0..<\(v)")
            counted += 1
        }
        let scale = counted > 0 ? 1 / Float(counted) : 0
        // One vectorised pass per row: max, Σ e^{z−max}, then the gradient from the stored exps.
        let total = rk_softmax_xent(rows, v, z, v, targets, scale, dz, v)
        return (Float(total * Double(scale)), counted)
    }

    /// Mean squared error, L = mean over all n entries of (x − t)².
    /// - Parameter gradient: ∂L/∂x = 2(x − t)/n, written when given.
    @discardableResult
    public static func meanSquaredError(_ x: UnsafePointer<Float>, target t: UnsafePointer<Float>, count n: Int,
                                        gradient dx: UnsafeMutablePointer<Float>?) -> Float {
        guard n > 0 else { return 0 }
        var total = 0.0
        let scale = 2 / Float(n)
        for i in 0..<n {
            let d = x[i] - t[i]
            total += Double(d * d)
            dx?[i] = scale * d
        }
        return Float(total / Double(n))
    }
}
