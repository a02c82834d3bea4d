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

    /// Gaussian negative log-likelihood of targets under N(μ, σ²) with μ = a and
    /// σ = softplus(b) + `minimumScale`, averaged over the counted rows:
    ///
    ///     L = (1/N) Σ_r [ log σ_r + (y_r − a_r)² / (2σ_r²) + ½ log 2π ]
    ///     ∂L/∂a = (a − y) / (N σ²),   ∂L/∂b = (1/σ − (y − a)²/σ³) · sigmoid(b) / N
    ///
    /// The floor on σ keeps the loss bounded when the network drives σ towards 0. Rows whose mask
    /// entry is 0 are ignored and get a zero gradient (the context steps of a forecasting window).
    /// - Parameters:
    ///   - pairs: the head's (a, b) per row, (R, 2).
    ///   - targets: y (R).
    ///   - mask: (R), nonzero for the rows counted; nil counts every row.
    ///   - minimumScale: the floor added to softplus(b).
    ///   - gradient: ∂L/∂(a, b) (R, 2), written (=) when given.
    /// - Returns: the mean loss over counted rows (0 when none) and that count N.
    @discardableResult
    public static func gaussianNegativeLogLikelihood(_ pairs: UnsafePointer<Float>, targets y: UnsafePointer<Float>, rows: Int,
                                                     mask: UnsafePointer<UInt8>? = nil, minimumScale: Double = 1e-3,
                                                     gradient: UnsafeMutablePointer<Float>?) -> (loss: Float, count: Int) {
        var counted = 0
        for r in 0..<rows where mask.map({ $0[r] != 0 }) ?? true { counted += 1 }
        let scale = counted > 0 ? 1 / Double(counted) : 0
        let halfLogTwoPi = 0.5 * Foundation.log(2 * Double.pi)
        var total = 0.0
        for r in 0..<rows {
            guard mask.map({ $0[r] != 0 }) ?? true else {
                gradient?[2 * r] = 0
                gradient?[2 * r + 1] = 0
                continue
            }
            // In Double: (y − a)²/σ² loses digits in Float when σ is near its floor.
            let a = Double(pairs[2 * r]), b = Double(pairs[2 * r + 1]), target = Double(y[r])
            let sigma = gaussianScale(b, minimumScale: minimumScale)
            let d = target - a, v = sigma * sigma
            total += Foundation.log(sigma) + d * d / (2 * v) + halfLogTwoPi
            if let gradient {
                let sigmoid = 1 / (1 + Foundation.exp(-b))
                gradient[2 * r] = Float(-d / v * scale)
                gradient[2 * r + 1] = Float((1 / sigma - d * d / (v * sigma)) * sigmoid * scale)
            }
        }
        return (Float(total * scale), counted)
    }

    /// The standard deviation σ = softplus(b) + `minimumScale` that `gaussianNegativeLogLikelihood`
    /// reads from a head output b, with softplus(b) = max(b, 0) + log(1 + e^{−|b|}), finite for
    /// any finite b.
    @inline(__always)
    public static func gaussianScale(_ b: Double, minimumScale: Double = 1e-3) -> Double {
        max(b, 0) + Foundation.log1p(Foundation.exp(-abs(b))) + minimumScale
    }
}
