import CRecurrentKernels

/// The Swift face of the SGEMM kernels in `CRecurrentKernels`.
///
/// C = α·op(A)·op(B) + β·C over row-major Float32 matrices, op(A) (M, K), op(B) (K, N).
/// `multiply` runs the fastest path this CPU supports (AVX-512, AVX2+FMA, NEON or portable C),
/// chosen once at start-up, on all cores; `reference` is the naive triple loop it is tested
/// against. Results are bit-identical for every thread count.
public enum GEMM {
    /// An instruction-set path of the kernels.
    public enum Path: Int32, CaseIterable, Sendable {
        case generic = 0, avx2 = 1, avx512 = 2, neon = 3
        public var name: String { String(cString: rk_isa_name(rawValue)) }
        public var isAvailable: Bool { rk_isa_available(rawValue) != 0 }
    }

    /// The path in use.
    public static var activePath: Path { Path(rawValue: rk_active_isa()) ?? .generic }

    /// Selects a path; returns false when this CPU cannot run it.
    @discardableResult
    public static func select(_ path: Path) -> Bool { rk_set_isa(path.rawValue) == 0 }

    /// The precision of matrix products: float32, or bfloat16 operands summed in float32.
    public enum MatmulPrecision: String, CaseIterable, Sendable {
        /// Float32 operands (the default).
        case fp32
        /// Both operands rounded to bfloat16 (nearest, ties to even), the products summed in
        /// float32 as AVX-512 BF16's `VDPBF16PS` sums them (subnormals flushed): PyTorch's
        /// `torch.set_float32_matmul_precision("medium")` on a CPU. Twice the products an FMA
        /// does where the CPU has the instruction (`bf16IsNative`); elsewhere the same bits in
        /// portable C, slower than float32.
        case bf16

        var code: Int32 { self == .bf16 ? Int32(RK_MATMUL_BF16) : Int32(RK_MATMUL_FP32) }
    }

    /// The precision of the products this thread starts (and of the parts the kernels hand to
    /// their pool from it). Matrices packed with `pack` keep the precision they were packed in.
    public static var matmulPrecision: MatmulPrecision {
        get { rk_matmul_precision() == Int32(RK_MATMUL_BF16) ? .bf16 : .fp32 }
        set { rk_set_matmul_precision(newValue.code) }
    }

    /// Runs `body` with this thread's products in `precision`, then restores the previous one.
    public static func withMatmulPrecision<R>(_ precision: MatmulPrecision, _ body: () throws -> R) rethrows -> R {
        let previous = rk_matmul_precision()
        rk_set_matmul_precision(precision.code)
        defer { rk_set_matmul_precision(previous) }
        return try body()
    }

    /// Whether this CPU runs bf16 products with AVX-512 BF16 (else in portable C).
    public static var bf16IsNative: Bool { rk_matmul_bf16_native() != 0 }

    /// The ceilings of this CPU's float32 FMAs and of its AVX-512 BF16 dot products (0 where bf16
    /// is not native), in GFLOP/s on all the kernels' threads, measured over a few milliseconds.
    /// Where `bf16` is below `fp32`, bf16 products run slower than float32 ones: VDPBF16PS does
    /// twice an FMA's products at its rate on AMD Zen 5 (1,010 against 550 GFLOP/s on 2 cores) but
    /// at a quarter of it on an Intel Xeon of family 6, model 207 (165 against 334).
    public static func productCeilings() -> (fp32: Double, bf16: Double) {
        _ = rk_fma_gflops(200_000) // wakes the threads and the clocks
        return (rk_fma_gflops(2_000_000), rk_bf16_gflops(1_000_000))
    }

    /// Worker threads the kernels use (0 or less: one per core).
    public static var threads: Int {
        get { Int(rk_threads()) }
        set { rk_set_threads(Int32(clamping: newValue)) }
    }

    /// C (M, N) = α·op(A)·op(B) + β·C through the fast path.
    ///
    /// - Parameters:
    ///   - transA: A is stored (K, M) and used transposed.
    ///   - transB: B is stored (N, K) and used transposed.
    ///   - lda, ldb, ldc: row strides in elements.
    ///   - beta: 0 overwrites C without reading it.
    @inline(__always)
    public static func multiply(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        rk_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                 b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Floats `pack` writes for an op(B) of (K, N) on the active path.
    package static func packedSize(n: Int, k: Int) -> Int { rk_sgemm_packed_b_size(Int32(n), Int32(k)) }

    /// Packs op(B) (K, N) once, for many `multiply(…, packedB:)` calls that share it (the
    /// recurrent weight, reused by every time step). Repack after B changes.
    package static func pack(transB: Bool = false, n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int,
                     into packed: UnsafeMutablePointer<Float>) {
        rk_sgemm_pack_b(transB ? 1 : 0, Int32(n), Int32(k), b, Int32(ldb), packed)
    }

    /// C (M, N) = α·op(A)·op(B) + β·C with op(B) from `pack`: the same bits as `multiply`
    /// with the unpacked B, without packing B again.
    @inline(__always)
    static func multiply(transA: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: UnsafePointer<Float>, lda: Int, packedB: UnsafePointer<Float>,
                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let status = rk_sgemm_packed(transA ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                                     packedB, beta, c, Int32(ldc))
        precondition(status == 0, "packed B was packed for another (N, K) than (\(n), \(k)): pack it again")
    }

    /// C (M, N) = ∂q·W + β·C for a recurrent weight W (K, N): from W packed once per sequence
    /// (`pack(n: N, k: K, b: W, ldb: N)`) when given, else from W itself.
    @inline(__always)
    static func multiplyByWeight(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                 weight: UnsafePointer<Float>, packed: UnsafePointer<Float>?,
                                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let packed {
            multiply(m: m, n: n, k: k, a: a, lda: lda, packedB: packed, beta: beta, c: c, ldc: ldc)
        } else {
            multiply(m: m, n: n, k: k, a: a, lda: lda, b: weight, ldb: n, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The naive reference of `multiply` (double accumulation), for tests.
    public static func reference(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                 b: UnsafePointer<Float>, ldb: Int,
                                 beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        rk_sgemm_ref(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                     b, Int32(ldb), beta, c, Int32(ldc))
    }
}
