/// A dense Float32 matrix in contiguous row-major storage.
///
/// `Matrix` is a value type (copy on write through its array). Hot loops do not use it:
/// they work on the parameter arena and workspaces through pointers. It is the type for
/// values crossing the API: weights read out of a model, inputs, results.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    /// rows·cols scalars, row after row.
    public var scalars: [Float]

    /// A rows×cols matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.scalars = [Float](repeating: value, count: rows * cols)
    }

    /// A rows×cols matrix over `scalars` in row-major order.
    /// - Throws: `RecurrentError.shapeMismatch` when `scalars.count != rows·cols`.
    public init(rows: Int, cols: Int, scalars: [Float]) throws {
        try require(rows >= 0 && cols >= 0 && scalars.count == rows * cols,
                    .shapeMismatch(operation: "Matrix", expected: "\(rows)x\(cols) = \(rows * cols) scalars",
                                   found: "\(scalars.count) scalars"))
        self.rows = rows
        self.cols = cols
        self.scalars = scalars
    }

    /// A matrix from nested rows, e.g. `[[1, 0], [0, 1]]`.
    /// - Throws: `RecurrentError.shapeMismatch` when the rows differ in length.
    public init(_ rowValues: [[Float]]) throws {
        let cols = rowValues.first?.count ?? 0
        for (i, row) in rowValues.enumerated() where row.count != cols {
            throw RecurrentError.shapeMismatch(operation: "Matrix rows", expected: "\(cols) columns",
                                               found: "\(row.count) in row \(i)")
        }
        try self.init(rows: rowValues.count, cols: cols, scalars: rowValues.flatMap { $0 })
    }

    /// The identity matrix of size n.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.scalars[i * n + i] = 1 }
        return m
    }

    /// The element at (`row`, `col`).
    public subscript(row: Int, col: Int) -> Float {
        get { scalars[row * cols + col] }
        set { scalars[row * cols + col] = newValue }
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Float] { Array(scalars[(i * cols)..<((i + 1) * cols)]) }

    public var shape: String { "\(rows)x\(cols)" }

    /// The transpose.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.scalars[j * rows + i] = scalars[i * cols + j] } }
        return t
    }

    /// Rows of `self` followed by rows of `other` (same column count).
    public func stacked(over other: Matrix) throws -> Matrix {
        try require(cols == other.cols, .shapeMismatch(operation: "stack", expected: "\(cols) columns", found: "\(other.cols)"))
        return try Matrix(rows: rows + other.rows, cols: cols, scalars: scalars + other.scalars)
    }

    /// Columns of `self` followed by columns of `other` (same row count).
    public func concatenated(with other: Matrix) throws -> Matrix {
        try require(rows == other.rows, .shapeMismatch(operation: "concatenate", expected: "\(rows) rows", found: "\(other.rows)"))
        var out = Matrix(rows: rows, cols: cols + other.cols)
        for i in 0..<rows {
            for j in 0..<cols { out[i, j] = self[i, j] }
            for j in 0..<other.cols { out[i, cols + j] = other[i, j] }
        }
        return out
    }

    /// The matrix product self · other, through the GEMM kernel.
    /// - Throws: `RecurrentError.shapeMismatch` when the inner dimensions differ.
    public func matmul(_ other: Matrix) throws -> Matrix {
        try require(cols == other.rows, .shapeMismatch(operation: "matmul", expected: "\(cols)xN right operand",
                                                       found: other.shape))
        var out = Matrix(rows: rows, cols: other.cols)
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                out.scalars.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(m: rows, n: other.cols, k: cols, a: a.baseAddress!, lda: max(cols, 1),
                                  b: b.baseAddress!, ldb: max(other.cols, 1), c: c.baseAddress!, ldc: max(other.cols, 1))
                }
            }
        }
        return out
    }

    /// self · v for a column vector given as an array.
    public func apply(_ v: [Float]) throws -> [Float] {
        try matmul(Matrix(rows: v.count, cols: 1, scalars: v)).scalars
    }

    /// Elementwise map.
    public func map(_ f: (Float) -> Float) -> Matrix {
        var m = self
        m.scalars = scalars.map(f)
        return m
    }
}
