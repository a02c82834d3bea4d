/// A named view of one parameter inside a `ParameterArena`: a (rows, cols) row-major block.
/// Vectors (biases) have `cols == 1`.
public struct Parameter: Sendable, Hashable {
    public let name: String
    /// Offset of the first scalar from the start of the arena.
    public let offset: Int
    public let rows: Int
    public let cols: Int
    public var count: Int { rows * cols }
}

/// The list of a model's parameters, built by its layers before any memory is allocated.
///
/// Each layer's initialiser calls `add` for its weights and keeps the returned `Parameter`;
/// the model then allocates one `ParameterArena` for the whole layout.
public struct ParameterLayout: Sendable {
    public private(set) var parameters: [Parameter] = []
    public private(set) var initializers: [Initializer] = []
    /// Total scalars, including alignment padding.
    public private(set) var count = 0

    /// An empty layout.
    public init() {}

    /// Reserves a (rows, cols) block named `name`, aligned to 64 bytes.
    public mutating func add(_ name: String, rows: Int, cols: Int = 1, initializer: Initializer) -> Parameter {
        precondition(rows > 0 && cols > 0, "parameter \(name) must not be empty")
        precondition(!parameters.contains { $0.name == name }, "duplicate parameter name \(name)")
        let offset = (count + 15) & ~15
        let p = Parameter(name: name, offset: offset, rows: rows, cols: cols)
        parameters.append(p)
        initializers.append(initializer)
        count = offset + p.count
        return p
    }
}

/// One contiguous block of memory for all of a model's parameters, and a second one of the
/// same layout for their gradients. Zeroing, clipping, the optimiser step and checkpoint I/O
/// are each one flat loop over `count` scalars (padding between parameters stays zero).
public final class ParameterArena: @unchecked Sendable {
    public let layout: ParameterLayout
    public var count: Int { layout.count }
    public var parameters: [Parameter] { layout.parameters }
    /// All values, `count` scalars.
    public let values: UnsafeMutablePointer<Float>
    /// All gradients, same layout as `values`.
    public let gradients: UnsafeMutablePointer<Float>

    /// Allocates the layout and draws every parameter from its initialiser, in layout order.
    public init(layout: ParameterLayout, rng: inout SeededGenerator) {
        self.layout = layout
        let n = max(layout.count, 1)
        values = .allocate(capacity: n)
        values.initialize(repeating: 0, count: n)
        gradients = .allocate(capacity: n)
        gradients.initialize(repeating: 0, count: n)
        for (p, initializer) in zip(layout.parameters, layout.initializers) {
            initializer.fill(UnsafeMutableBufferPointer(start: values + p.offset, count: p.count),
                             rows: p.rows, cols: p.cols, rng: &rng)
        }
    }

    /// Allocates the layout and initialises it from `seed`.
    public convenience init(layout: ParameterLayout, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.init(layout: layout, rng: &rng)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    @inline(__always) public func value(_ p: Parameter) -> UnsafeMutablePointer<Float> { values + p.offset }
    @inline(__always) public func gradient(_ p: Parameter) -> UnsafeMutablePointer<Float> { gradients + p.offset }

    /// The parameter called `name`, if any.
    public subscript(name: String) -> Parameter? { layout.parameters.first { $0.name == name } }

    /// Sets every gradient to zero (one flat loop), before a backward pass accumulates into them.
    public func zeroGradients() { gradients.update(repeating: 0, count: count) }

    /// A copy of a parameter's values.
    public func matrix(_ p: Parameter) -> Matrix {
        // Force-try is safe: the scalar count is rows·cols by construction.
        try! Matrix(rows: p.rows, cols: p.cols, scalars: Array(UnsafeBufferPointer(start: value(p), count: p.count)))
    }

    /// A copy of a parameter's gradient.
    public func gradientMatrix(_ p: Parameter) -> Matrix {
        try! Matrix(rows: p.rows, cols: p.cols, scalars: Array(UnsafeBufferPointer(start: gradient(p), count: p.count)))
    }

    /// Overwrites a parameter's values.
    /// - Throws: `RecurrentError.shapeMismatch` when `m` is not (rows, cols).
    public func set(_ p: Parameter, to m: Matrix) throws {
        try require(m.rows * m.cols == p.count && (m.rows == p.rows || m.cols == 1 || p.cols == 1),
                    .shapeMismatch(operation: "set \(p.name)", expected: "\(p.rows)x\(p.cols)", found: m.shape))
        m.scalars.withUnsafeBufferPointer { value(p).update(from: $0.baseAddress!, count: p.count) }
    }
}
