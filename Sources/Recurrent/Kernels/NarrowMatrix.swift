import CRecurrentKernels

/// How batch-1 inference stores the weight matrices it multiplies by: float32 as trained, or
/// narrow — bfloat16, or int8 with one float scale per row. For fp32, bf16 and int8 the
/// arithmetic is float32 (a narrow weight is widened in registers before its FMA); only the
/// stored weights change. `w8a8` goes further: int8 weights times activations quantised to int8
/// per product (one scale per vector), summed exactly in integers (AVX-512 VNNI) — the fastest,
/// and no longer float32 arithmetic.
public enum InferencePrecision: String, CaseIterable, Sendable {
    case fp32, bf16, int8, w8a8

    /// Parses "fp32", "bf16", "int8" or "w8a8" (also "f32", "bfloat16").
    /// - Throws: `RecurrentError.invalidArgument` naming the accepted names.
    public init(parsing name: String) throws {
        switch name.lowercased() {
        case "fp32", "f32", "float32": self = .fp32
        case "bf16", "bfloat16": self = .bf16
        case "int8", "i8": self = .int8
        case "w8a8": self = .w8a8
        default: throw RecurrentError.invalidArgument(name: "precision", value: name, expected: "fp32, bf16, int8 or w8a8")
        }
    }

    /// Bytes per stored weight.
    public var bytesPerWeight: Int {
        switch self {
        case .fp32: return 4
        case .bf16: return 2
        case .int8, .w8a8: return 1
        }
    }
}

/// A weight matrix W (P, K), row-major, stored narrow for inference, and its matrix-vector
/// product y (P) = W·x.
///
/// bf16: each weight rounded to the nearest bfloat16 (ties to even), 2 bytes. int8: per row p,
/// s_p = max_k |W[p, k]| / 127 and q = round(W / s_p) clamped to ±127, 1 byte per weight plus
/// the row's scale; the row stands for q·s_p and y_p = s_p·Σ_k q[p, k]·x[k]. Both multiply in
/// float32. w8a8: the int8 weights, and x quantised per product, s_x = max|x|/127,
/// x_i = round(x/s_x): y_p = s_p·s_x·Σ_k q[p, k]·x_i[k] summed exactly in integers. `widened`
/// gives the float32 values the stored weights stand for (a per-symbol table computed from them
/// uses the same weights as the narrow product).
///
/// The product runs on the fastest path this CPU has (AVX-512, AVX2, portable C; the GEMM's
/// choice), its rows split over the kernels' threads: the same bits for every thread count.
package final class NarrowMatrix: @unchecked Sendable {
    let precision: InferencePrecision   // bf16, int8 or w8a8
    let rows: Int      // P
    let cols: Int      // K
    private let storage: UnsafeMutableRawPointer
    /// int8, w8a8: s (P); bf16: unused.
    private let scales: UnsafeMutablePointer<Float>
    /// w8a8: Σ_k q[p, k] (P); otherwise unused.
    private let rowSums: UnsafeMutablePointer<Int32>

    /// Narrows W (P, K).
    /// - Throws: `RecurrentError.invalidArgument` for `.fp32` (nothing to narrow) or a weight
    ///   that is not finite (`name` says which matrix).
    package init(_ precision: InferencePrecision, rows: Int, cols: Int, weights w: UnsafePointer<Float>, name: String = "W") throws {
        try require(precision != .fp32, .invalidArgument(name: "narrow precision", value: "fp32", expected: "bf16, int8 or w8a8"))
        try require(precision != .w8a8 || cols <= 66_000,
                    .invalidArgument(name: "w8a8 input width", value: "\(cols)", expected: "at most 66000 (int32 sums)"))
        let i = rk_first_nonfinite(rows * cols, w)
        if i >= 0 {
            throw RecurrentError.invalidArgument(name: "weight \(name)[\(i / max(cols, 1)), \(i % max(cols, 1))]",
                                                 value: "\(w[i])", expected: "a finite number to store as \(precision.rawValue)")
        }
        self.precision = precision
        self.rows = rows
        self.cols = cols
        let n = rows * cols
        storage = .allocate(byteCount: max(n, 1) * precision.bytesPerWeight, alignment: 64)
        scales = .allocate(capacity: max(rows, 1))
        scales.initialize(repeating: 0, count: max(rows, 1))
        rowSums = .allocate(capacity: max(rows, 1))
        rowSums.initialize(repeating: 0, count: max(rows, 1))
        switch precision {
        case .bf16: rk_narrow_bf16(n, w, storage.assumingMemoryBound(to: UInt16.self))
        default:
            rk_narrow_int8(rows, cols, w, storage.assumingMemoryBound(to: Int8.self), scales)
            rk_int8_row_sums(rows, cols, storage.assumingMemoryBound(to: Int8.self), rowSums)
        }
    }

    deinit {
        storage.deallocate()
        scales.deallocate()
        rowSums.deallocate()
    }

    /// The stored bf16 bits (P·K), for tests.
    var bf16Bits: UnsafePointer<UInt16> { UnsafePointer(storage.assumingMemoryBound(to: UInt16.self)) }
    /// The stored int8 values (P·K) and per-row scales (P), for tests.
    var int8Values: UnsafePointer<Int8> { UnsafePointer(storage.assumingMemoryBound(to: Int8.self)) }
    var int8Scales: UnsafePointer<Float> { UnsafePointer(scales) }

    /// The float32 values this matrix stands for, (P, K).
    package func widened(into out: UnsafeMutablePointer<Float>) {
        switch precision {
        case .bf16: rk_widen_bf16(rows * cols, bf16Bits, out)
        default: rk_widen_int8(rows, cols, int8Values, scales, out)
        }
    }

    /// y (M, P) = x (M, K)·Wᵀ, or y += x·Wᵀ with `accumulate`; rows of x and y at strides ldx, ldy.
    @inline(__always)
    func multiply(_ x: UnsafePointer<Float>, rows m: Int = 1, ldx: Int? = nil, into y: UnsafeMutablePointer<Float>,
                  ldy: Int? = nil, accumulate: Bool = false) {
        let (lx, ly) = (ldx ?? cols, ldy ?? rows)
        switch precision {
        case .bf16: rk_matvec_bf16(m, rows, cols, bf16Bits, x, lx, accumulate ? 1 : 0, y, ly)
        case .w8a8: rk_matvec_w8a8(m, rows, cols, int8Values, scales, rowSums, x, lx, accumulate ? 1 : 0, y, ly)
        default: rk_matvec_int8(m, rows, cols, int8Values, scales, x, lx, accumulate ? 1 : 0, y, ly)
        }
    }

    /// The naive reference of `multiply` (widen each weight, sum in double; w8a8: the same
    /// quantisation, the sum straight from the definition in Int64), for tests.
    func reference(_ x: UnsafePointer<Float>, rows m: Int = 1, ldx: Int? = nil, into y: UnsafeMutablePointer<Float>,
                   ldy: Int? = nil, accumulate: Bool = false) {
        let (lx, ly) = (ldx ?? cols, ldy ?? rows)
        switch precision {
        case .bf16: rk_matvec_bf16_ref(m, rows, cols, bf16Bits, x, lx, accumulate ? 1 : 0, y, ly)
        case .w8a8: rk_matvec_w8a8_ref(m, rows, cols, int8Values, scales, rowSums, x, lx, accumulate ? 1 : 0, y, ly)
        default: rk_matvec_int8_ref(m, rows, cols, int8Values, scales, x, lx, accumulate ? 1 : 0, y, ly)
        }
    }
}
