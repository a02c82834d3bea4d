import XCTest
import CRecurrentKernels

/// rk_sgemm against the three-loop reference, on every instruction-set path this
/// machine has, plus bit-for-bit determinism across thread counts.
///
/// Tests run in DEBUG, where the C target is compiled -O0 (a few GFLOP/s), so the
/// big shapes only get a few of the transpose/alpha/beta combinations.
final class GEMMKernelTests: XCTestCase, KernelPathTesting {
    /// xorshift64: reproducible data without Foundation randomness.
    struct XorShift {
        var state: UInt64
        init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
        /// Uniform in [-1, 1).
        mutating func next() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        mutating func fill(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    struct Case: CustomStringConvertible {
        var transA = false, transB = false
        var m: Int, n: Int, k: Int
        var alpha: Float = 1, beta: Float = 0
        var pad = 0            // extra elements in every leading dimension
        var nanC = false       // fill C with NaN (meaningful with beta == 0)
        var description: String {
            "tA=\(transA) tB=\(transB) M=\(m) N=\(n) K=\(k) alpha=\(alpha) beta=\(beta) pad=\(pad) nanC=\(nanC)"
        }
    }

    /// Compares rk_sgemm to rk_sgemm_ref elementwise, within
    /// 1e-5 * (|alpha| sum_k |a_ik b_kj| + |beta c_ij|) + 1e-6, and checks that the
    /// padding columns of C are untouched.
    func check(_ c: Case, isa: Int32, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = XorShift(seed: seed)
        let lda = (c.transA ? c.m : c.k) + c.pad, ldb = (c.transB ? c.k : c.n) + c.pad, ldc = c.n + c.pad
        let a = rng.fill(max(1, (c.transA ? c.k : c.m) * lda))
        let b = rng.fill(max(1, (c.transB ? c.n : c.k) * ldb))
        let c0 = c.nanC ? [Float](repeating: .nan, count: max(1, c.m * ldc)) : rng.fill(max(1, c.m * ldc))
        var got = c0, want = c0
        var mag = [Float](repeating: 0, count: c0.count)
        let absA = a.map { abs($0) }, absB = b.map { abs($0) }
        let (tA, tB) = (Int32(c.transA ? 1 : 0), Int32(c.transB ? 1 : 0))
        let (m, n, k) = (Int32(c.m), Int32(c.n), Int32(c.k))
        rk_sgemm(tA, tB, m, n, k, c.alpha, a, Int32(lda), b, Int32(ldb), c.beta, &got, Int32(ldc))
        rk_sgemm_ref(tA, tB, m, n, k, c.alpha, a, Int32(lda), b, Int32(ldb), c.beta, &want, Int32(ldc))
        rk_sgemm_ref(tA, tB, m, n, k, abs(c.alpha), absA, Int32(lda), absB, Int32(ldb), 0, &mag, Int32(ldc))

        var worst: Float = 0, worstAt = (0, 0), bad = 0
        for i in 0..<c.m {
            for j in 0..<ldc {
                let idx = i * ldc + j
                if j >= c.n {
                    if got[idx].bitPattern != c0[idx].bitPattern { bad += 1 }
                    continue
                }
                let bound = 1e-5 * (mag[idx] + (c.beta == 0 ? 0 : abs(c.beta * c0[idx]))) + 1e-6
                let diff = abs(got[idx] - want[idx])
                if !(diff <= bound) { bad += 1 }
                if !(diff <= worst) { worst = diff; worstAt = (i, j) }
            }
        }
        if bad > 0 {
            XCTFail("\(String(cString: rk_isa_name(isa))) \(c): \(bad) elements off, largest difference \(worst) "
                    + "at \(worstAt) (got \(got[worstAt.0 * ldc + worstAt.1]), want \(want[worstAt.0 * ldc + worstAt.1]))",
                    file: file, line: line)
        }
    }

    static let transposes = [(false, false), (false, true), (true, false), (true, true)]
    static let alphas: [Float] = [1, 0.5, -2]
    static let betas: [Float] = [0, 1, 0.3]

    /// Small awkward shapes: every transpose x alpha x beta, leading dimensions padded.
    func testSmallShapesAllCombinations() {
        // Primes, sizes around the register tiles (14x32 AVX-512, 6x16 AVX2, 4x16 generic, 8x12 NEON).
        let shapes = [(1, 1, 1), (7, 13, 17), (31, 37, 41), (13, 33, 5), (15, 31, 2), (6, 16, 8), (14, 32, 3), (2, 65, 9)]
        forEachPath { isa in
            var seed: UInt64 = 1
            for (m, n, k) in shapes {
                for (tA, tB) in Self.transposes {
                    for alpha in Self.alphas {
                        for beta in Self.betas {
                            seed += 1
                            let c = Case(transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta, pad: Int(seed % 3) * 3)
                            check(c, isa: isa, seed: seed)
                        }
                    }
                }
            }
        }
    }

    /// Every micro-kernel height: M = 1...30 runs row panels of every size up to MR
    /// (the drivers balance M over ceil(M / MR) panels), each with a full and an edge
    /// column tile (N = 45 = 32 + 13).
    func testEveryTileHeight() {
        forEachPath { isa in
            for m in 1...30 {
                for (t, (tA, tB)) in Self.transposes.enumerated() {
                    for beta: Float in [0, 0.3] {
                        let c = Case(transA: tA, transB: tB, m: m, n: 45, k: 9, alpha: Self.alphas[(m + t) % 3],
                                     beta: beta, pad: (m + t) % 2 * 3)
                        check(c, isa: isa, seed: UInt64(500 + m * 8 + t))
                    }
                }
            }
        }
    }

    /// Shapes that cross the cache blocks: K > KC (several K blocks, beta applied once),
    /// M > MC, N > NC, N not a multiple of NR with B read in place (small M), M = 1, N = 1.
    func testBlockBoundaries() {
        let shapes = [
            (97, 101, 103), (50, 70, 385), (20, 40, 800), (29, 530, 33), (1030, 20, 9),
            (1, 300, 70), (1, 530, 45), (1, 20, 300), (300, 1, 70), (50, 600, 45), (33, 260, 300),
        ]
        forEachPath { isa in
            var seed: UInt64 = 1000
            for (s, (m, n, k)) in shapes.enumerated() {
                for (t, (tA, tB)) in Self.transposes.enumerated() {
                    // One or two of the nine alpha/beta pairs per shape and transpose, rotating.
                    for r in 0..<(m * n * k > 500_000 ? 1 : 2) {
                        seed += 1
                        let p = (s * 4 + t * 2 + r) % 9
                        let c = Case(transA: tA, transB: tB, m: m, n: n, k: k,
                                     alpha: Self.alphas[p / 3], beta: Self.betas[p % 3], pad: (s + t + r) % 2 * 5)
                        check(c, isa: isa, seed: seed)
                    }
                }
            }
        }
    }

    /// beta == 0 must overwrite C without reading it: NaNs in C do not come back.
    func testBetaZeroIgnoresNaN() {
        forEachPath { isa in
            for (tA, tB) in Self.transposes {
                for (m, n, k) in [(37, 45, 29), (5, 70, 3), (50, 33, 400)] {
                    var c = Case(transA: tA, transB: tB, m: m, n: n, k: k, alpha: 0.5, beta: 0, pad: 2, nanC: true)
                    check(c, isa: isa, seed: 7)
                    c.alpha = 0 // alpha == 0, beta == 0: zeros, even though C was NaN
                    check(c, isa: isa, seed: 8)
                }
            }
        }
    }

    /// K == 0: C = beta * C (zeros when beta == 0, NaNs in C included); M or N == 0: no-op.
    func testEmptyDimensions() {
        forEachPath { isa in
            for (tA, tB) in Self.transposes {
                for beta in Self.betas {
                    check(Case(transA: tA, transB: tB, m: 20, n: 30, k: 0, alpha: 1, beta: beta, pad: 1), isa: isa, seed: 9)
                }
                check(Case(transA: tA, transB: tB, m: 20, n: 30, k: 0, alpha: 1, beta: 0, pad: 1, nanC: true), isa: isa, seed: 10)
            }
            var c: [Float] = [42]
            let a: [Float] = [1], b: [Float] = [1]
            rk_sgemm(0, 0, 0, 1, 1, 1, a, 1, b, 1, 0, &c, 1)
            rk_sgemm(0, 0, 1, 0, 1, 1, a, 1, b, 1, 0, &c, 1)
            XCTAssertEqual(c, [42])
        }
    }

    /// Same bits for 1, 2 and 3 threads: threads split C, never K.
    func testDeterministicAcrossThreadCounts() {
        func run(_ m: Int, _ n: Int, _ k: Int, _ tA: Bool, _ tB: Bool, threads: [Int32], isa: Int32) {
            var rng = XorShift(seed: UInt64(m * 31 + n * 7 + k))
            let a = rng.fill(m * k), b = rng.fill(k * n), c0 = rng.fill(m * n)
            var first: [Float] = []
            for t in threads {
                var c = c0
                withThreads(t) {
                    rk_sgemm(tA ? 1 : 0, tB ? 1 : 0, Int32(m), Int32(n), Int32(k), 0.7, a, Int32(tA ? m : k),
                             b, Int32(tB ? k : n), 0.3, &c, Int32(n))
                }
                if first.isEmpty {
                    first = c
                } else {
                    let same = first.withUnsafeBytes { x in c.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
                    XCTAssertTrue(same, "\(String(cString: rk_isa_name(isa))) \(m)x\(n)x\(k) tA=\(tA) tB=\(tB): "
                                  + "\(t) threads differ from \(threads[0])")
                }
            }
        }
        forEachPath { isa in
            run(300, 517, 263, false, false, threads: [1, 2, 3], isa: isa)
            run(300, 517, 263, true, true, threads: [1, 2, 3], isa: isa)
            run(50, 2048, 512, false, false, threads: [1, 2], isa: isa) // the RNN shape, B read in place
        }
        // The big one on the default path only (-O0 C in debug builds).
        run(1000, 1000, 300, false, true, threads: [1, 3], isa: rk_active_isa())
    }

    /// Collects per-thread outcomes from concurrentPerform.
    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var ok: [Bool]
        init(_ n: Int) { ok = [Bool](repeating: false, count: n) }
        func set(_ i: Int, _ v: Bool) { lock.lock(); ok[i] = v; lock.unlock() }
        var all: [Bool] { lock.lock(); defer { lock.unlock() }; return ok }
    }

    /// Several host threads calling at once: one gets the pool, the others run alone; all agree.
    /// Every row of C is bit-identical whether computed alone (M = 1) or inside a larger
    /// product, at any position: what lets a sequence run alone, in a batch, or one step at a
    /// time give the same numbers.
    func testRowsDoNotDependOnM() {
        forEachPath { isa in
            var rng = XorShift(seed: 99)
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                // (4, 130, 300) and (6, 64, 33): row panels of <= 6 rows take two B panels at once.
                for (m, n, k, beta) in [(37, 45, 29, Float(0)), (50, 70, 500, 1), (20, 300, 900, 0.5), (3, 16, 7, 1),
                                        (4, 130, 300, 0.5), (6, 64, 33, 0)] {
                    let a = rng.fill(m * k), b = rng.fill(k * n), c0 = rng.fill(m * n)
                    var whole = c0
                    rk_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), 0.7, a, Int32(transA ? m : k),
                             b, Int32(transB ? k : n), beta, &whole, Int32(n))
                    for i in [0, m / 2, m - 1] {
                        // Row i of op(A) alone, as a 1 x K matrix in the same storage order.
                        let ai = transA ? (0..<k).map { a[$0 * m + i] } : Array(a[(i * k)..<((i + 1) * k)])
                        var row = Array(c0[(i * n)..<((i + 1) * n)])
                        rk_sgemm(transA ? 1 : 0, transB ? 1 : 0, 1, Int32(n), Int32(k), 0.7, ai, transA ? 1 : Int32(k),
                                 b, Int32(transB ? k : n), beta, &row, Int32(n))
                        XCTAssertEqual(row, Array(whole[(i * n)..<((i + 1) * n)]),
                                       "isa \(isa) tA=\(transA) tB=\(transB) \(m)x\(n)x\(k) beta \(beta) row \(i)")
                    }
                }
            }
        }
    }

    func testConcurrentCallers() {
        let (m, n, k) = (64, 300, 200)
        var rng = XorShift(seed: 99)
        let a = rng.fill(m * k), b = rng.fill(k * n)
        var c = [Float](repeating: 0, count: m * n)
        rk_sgemm(0, 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        let want = c
        let outcomes = Outcomes(8)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            var ok = true
            for _ in 0..<5 {
                var c = [Float](repeating: .nan, count: m * n)
                rk_sgemm(0, 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
                ok = ok && c == want
            }
            outcomes.set(i, ok)
        }
        XCTAssertEqual(outcomes.all, [Bool](repeating: true, count: 8))
    }

    /// Part 0 of a parallel call runs on the calling thread, every time (what keeps each core on
    /// the same rows or columns call after call); every part runs exactly once.
    func testPartZeroRunsOnTheCaller() {
        final class Record: @unchecked Sendable {
            let lock = NSLock()
            var threads: [Int: [pthread_t]] = [:]
        }
        withThreads(2) {
            let record = Record()
            let caller = pthread_self()
            for _ in 0..<200 {
                rk_parallel_parts(3, { context, part, _ in
                    let record = Unmanaged<Record>.fromOpaque(context!).takeUnretainedValue()
                    record.lock.lock()
                    record.threads[Int(part), default: []].append(pthread_self())
                    record.lock.unlock()
                }, Unmanaged.passUnretained(record).toOpaque())
            }
            XCTAssertEqual(record.threads.keys.sorted(), [0, 1, 2])
            XCTAssertEqual(record.threads.values.map(\.count), [200, 200, 200])
            XCTAssertTrue(record.threads[0]!.allSatisfy { pthread_equal($0, caller) != 0 }, "part 0 ran on a worker")
        }
    }

    func testPathQueries() {
        XCTAssertEqual(rk_isa_available(0), 1)
        XCTAssertEqual(rk_isa_available(17), 0)
        XCTAssertEqual(rk_set_isa(17), -1)
        XCTAssertEqual(String(cString: rk_isa_name(0)), "generic")
        XCTAssertEqual(String(cString: rk_isa_name(2)), "avx512")
        XCTAssertTrue(Self.paths.contains(rk_active_isa()))
        withThreads(3) { XCTAssertEqual(rk_threads(), 3) }
        XCTAssertGreaterThanOrEqual(rk_threads(), 1)
    }
}
