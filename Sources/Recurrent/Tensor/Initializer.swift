/// How a parameter's values are drawn when a model is created.
///
/// A parameter of shape (rows, cols) is seen as a weight with fan-out `rows` and fan-in
/// `cols`, as PyTorch sees a Linear weight (out, in).
public enum Initializer: Sendable, Equatable {
    case zeros
    case constant(Float)
    /// U(low, high).
    case uniform(low: Float, high: Float)
    /// N(mean, std²).
    case normal(mean: Float, std: Float)
    /// Glorot & Bengio (2010): U(±gain·√(6 / (fanIn + fanOut))).
    case xavierUniform(gain: Float)
    /// Saxe et al. (2014): a random orthogonal matrix times `gain` (PyTorch's
    /// `nn.init.orthogonal_`: QR of a normal matrix with the signs of R's diagonal folded in).
    case orthogonal(gain: Float)
    /// The rows split into `blocks` equal blocks (one per gate), each orthogonal on its own.
    case blockOrthogonal(blocks: Int)
    /// A vector of `count` equal blocks, all zero but block `one`, which is all ones
    /// (a forget-gate bias of 1).
    case blocks(count: Int, one: Int)

    /// Fills `values` (rows·cols scalars, row-major) from `rng`.
    public func fill(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int,
                     rng: inout SeededGenerator) {
        precondition(values.count == rows * cols)
        switch self {
        case .zeros:
            values.update(repeating: 0)
        case let .constant(c):
            values.update(repeating: c)
        case let .uniform(low, high):
            for i in values.indices { values[i] = rng.nextUniform(low, high) }
        case let .normal(mean, std):
            for i in values.indices { values[i] = mean + std * rng.nextNormal() }
        case let .xavierUniform(gain):
            let bound = gain * (6 / Float(max(rows + cols, 1))).squareRoot()
            for i in values.indices { values[i] = rng.nextUniform(-bound, bound) }
        case let .orthogonal(gain):
            Self.fillOrthogonal(values, rows: rows, cols: cols, gain: gain, rng: &rng)
        case let .blockOrthogonal(blocks):
            precondition(rows % blocks == 0, "rows must split into \(blocks) blocks")
            let n = rows / blocks * cols
            for b in 0..<blocks {
                Self.fillOrthogonal(UnsafeMutableBufferPointer(rebasing: values[(b * n)..<((b + 1) * n)]),
                                    rows: rows / blocks, cols: cols, gain: 1, rng: &rng)
            }
        case let .blocks(count, one):
            let n = values.count / count
            values.update(repeating: 0)
            for i in (one * n)..<((one + 1) * n) { values[i] = 1 }
        }
    }

    /// Orthonormalises the columns (rows ≥ cols) or rows (rows < cols) of a normal matrix by
    /// modified Gram–Schmidt in Double; this equals Q·sign(diag R) of its QR factorisation.
    private static func fillOrthogonal(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int,
                                       gain: Float, rng: inout SeededGenerator) {
        guard rows > 0 && cols > 0 else { return }
        // Work on the tall orientation: n vectors of length len, n ≤ len.
        let tall = rows >= cols
        let len = tall ? rows : cols
        let n = tall ? cols : rows
        var q = [Double](repeating: 0, count: rows * cols)   // (n, len): vector j at q[j·len ...]
        // Draw in the (rows, cols) layout so the stream matches the matrix, then gather vectors.
        var drawn = [Double](repeating: 0, count: rows * cols)
        for i in drawn.indices { drawn[i] = Double(rng.nextNormal()) }
        for j in 0..<n {
            for i in 0..<len { q[j * len + i] = tall ? drawn[i * cols + j] : drawn[j * cols + i] }
        }
        for j in 0..<n {
            for p in 0..<j {
                var dot = 0.0
                for i in 0..<len { dot += q[p * len + i] * q[j * len + i] }
                for i in 0..<len { q[j * len + i] -= dot * q[p * len + i] }
            }
            var norm = 0.0
            for i in 0..<len { norm += q[j * len + i] * q[j * len + i] }
            norm = norm.squareRoot()
            let scale = norm > 0 ? 1 / norm : 0
            for i in 0..<len { q[j * len + i] *= scale }
        }
        for r in 0..<rows {
            for c in 0..<cols {
                let v = tall ? q[c * len + r] : q[r * len + c]
                values[r * cols + c] = Float(v) * gain
            }
        }
    }
}
