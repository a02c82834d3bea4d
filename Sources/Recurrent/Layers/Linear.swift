/// A fully connected layer: y = x·Wᵀ + b.
///
/// Shapes: x (R, D), W `weight` (N, D) as PyTorch's nn.Linear, b `bias` (N), y (R, N),
/// where R is any number of rows (B, or B·T for a whole sequence at once).
public struct Linear: Sendable {
    public let inputSize: Int    // D
    public let outputSize: Int   // N
    public let weight: Parameter
    public let bias: Parameter?

    /// Registers `name.weight` and `name.bias` in `layout`. The default initialisation is
    /// PyTorch's: U(±1/√D) for both.
    public init(_ name: String, inputSize: Int, outputSize: Int, bias: Bool = true,
                layout: inout ParameterLayout, weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = 1 / Float(inputSize).squareRoot()
        weight = layout.add("\(name).weight", rows: outputSize, cols: inputSize,
                            initializer: weightInit ?? .uniform(low: -bound, high: bound))
        self.bias = bias ? layout.add("\(name).bias", rows: outputSize,
                                      initializer: biasInit ?? .uniform(low: -bound, high: bound)) : nil
    }

    /// y (R, N) = x (R, D)·Wᵀ + b.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, output y: UnsafeMutablePointer<Float>,
                        arena: ParameterArena) {
        GEMM.multiply(transB: true, m: rows, n: outputSize, k: inputSize, a: x, lda: inputSize,
                      b: arena.value(weight), ldb: inputSize, beta: 0, c: y, ldc: outputSize)
        if let bias { Elementwise.addBias(arena.value(bias), rows: rows, cols: outputSize, to: y, ld: outputSize) }
    }

    /// `forward` with W from `GEMM.pack(transB: true, n: N, k: D, …)`, packed once for many calls
    /// (batch-1 generation): the same bits without packing W again.
    package func forward(_ x: UnsafePointer<Float>, rows: Int, output y: UnsafeMutablePointer<Float>, arena: ParameterArena,
                 packedWeight: UnsafePointer<Float>) {
        GEMM.multiply(m: rows, n: outputSize, k: inputSize, a: x, lda: inputSize, packedB: packedWeight, beta: 0, c: y,
                      ldc: outputSize)
        if let bias { Elementwise.addBias(arena.value(bias), rows: rows, cols: outputSize, to: y, ld: outputSize) }
    }

    /// `forward` with W stored narrow (`NarrowMatrix` of (N, D), batch-1 inference).
    package func forward(_ x: UnsafePointer<Float>, rows: Int, output y: UnsafeMutablePointer<Float>, arena: ParameterArena,
                 narrowWeight: NarrowMatrix) {
        narrowWeight.multiply(x, rows: rows, into: y)
        if let bias { Elementwise.addBias(arena.value(bias), rows: rows, cols: outputSize, to: y, ld: outputSize) }
    }

    /// Backward of `forward`, same argument order: dW += dyᵀ·x, db += Σ_rows dy, and, when
    /// `inputGradient` is given, dx (R, D) += dy·W.
    public func backward(_ x: UnsafePointer<Float>, rows: Int, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, arena: ParameterArena) {
        GEMM.multiply(transA: true, m: outputSize, n: inputSize, k: rows, a: dy, lda: outputSize,
                      b: x, ldb: inputSize, beta: 1, c: arena.gradient(weight), ldc: inputSize)
        if let bias {
            Elementwise.addColumnSums(dy, rows: rows, cols: outputSize, ld: outputSize, into: arena.gradient(bias))
        }
        if let dx {
            GEMM.multiply(m: rows, n: inputSize, k: outputSize, a: dy, lda: outputSize,
                          b: arena.value(weight), ldb: inputSize, beta: 1, c: dx, ldc: inputSize)
        }
    }
}
