/// A lookup table from token ids to vectors: y[r] = W[id[r]].
///
/// Shapes: `weight` (V, E) as PyTorch's nn.Embedding, ids (R), y (R, E).
/// Multiplying a one-hot input by Wᵀ gives the same result; this is that product without the
/// zeros.
public struct Embedding: Sendable {
    public let vocabularySize: Int  // V
    public let embeddingSize: Int   // E
    public let weight: Parameter

    /// Registers `name.weight`; PyTorch's default initialisation N(0, 1).
    public init(_ name: String, vocabularySize: Int, embeddingSize: Int, layout: inout ParameterLayout,
                initializer: Initializer = .normal(mean: 0, std: 1)) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        weight = layout.add("\(name).weight", rows: vocabularySize, cols: embeddingSize, initializer: initializer)
    }

    /// Checks every id is in 0..<V.
    /// - Throws: `RecurrentError.invalidArgument` naming the first bad id and its position.
    public func validate(_ ids: UnsafeBufferPointer<Int32>) throws {
        for (i, id) in ids.enumerated() where id < 0 || Int(id) >= vocabularySize {
            throw RecurrentError.invalidArgument(name: "token id at position \(i)", value: "\(id)",
                                                 expected: "0..<\(vocabularySize)")
        }
    }

    /// y (R, E) = W[ids]. Ids must be in range (see `validate`).
    public func forward(_ ids: UnsafePointer<Int32>, rows: Int, output y: UnsafeMutablePointer<Float>,
                        arena: ParameterArena) {
        let w = arena.value(weight)
        for r in 0..<rows {
            (y + r * embeddingSize).update(from: w + Int(ids[r]) * embeddingSize, count: embeddingSize)
        }
    }

    /// dW[ids[r]] += dy[r].
    public func backward(_ ids: UnsafePointer<Int32>, rows: Int, outputGradient dy: UnsafePointer<Float>,
                         arena: ParameterArena) {
        let dw = arena.gradient(weight)
        for r in 0..<rows {
            let dst = dw + Int(ids[r]) * embeddingSize
            let src = dy + r * embeddingSize
            for j in 0..<embeddingSize { dst[j] += src[j] }
        }
    }
}

/// One-hot encoding: ids (R) → x (R, V) with x[r, ids[r]] = 1.
public enum OneHot {
    /// Writes the one-hot rows of `ids` into `output` (R, V).
    /// - Throws: `RecurrentError.invalidArgument` for an id outside 0..<V.
    public static func encode(_ ids: [Int], classes: Int, into output: UnsafeMutablePointer<Float>) throws {
        output.update(repeating: 0, count: ids.count * classes)
        for (r, id) in ids.enumerated() {
            try require(id >= 0 && id < classes, .invalidArgument(name: "one-hot index at position \(r)",
                                                                   value: "\(id)", expected: "0..<\(classes)"))
            output[r * classes + id] = 1
        }
    }

    /// The one-hot vector of `index` among `classes`.
    public static func vector(_ index: Int, classes: Int) -> [Float] {
        var v = [Float](repeating: 0, count: classes)
        v[index] = 1
        return v
    }
}
