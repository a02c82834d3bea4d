import XCTest
import CRecurrentKernels
@testable import Recurrent

/// Products in bf16 (`GEMM.MatmulPrecision.bf16`): what the precision covers (this thread, the
/// pool's parts it starts, a packed B), and that its bits do not depend on the thread count or on
/// whether the CPU has AVX-512 BF16. The kernels against the reference on awkward shapes, on every
/// path, are in Tests/KernelsC (`test_sgemm_bf16`).
final class BF16ProductTests: XCTestCase, KernelPathTesting {
    typealias XorShift = GEMMKernelTests.XorShift

    func product(_ precision: GEMM.MatmulPrecision, m: Int, n: Int, k: Int, a: [Float], b: [Float],
                 transA: Bool = false, transB: Bool = false) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        GEMM.withMatmulPrecision(precision) {
            GEMM.multiply(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: transA ? m : k, b: b,
                          ldb: transB ? k : n, c: &c, ldc: n)
        }
        return c
    }

    /// 1 + 2⁻⁸ lies halfway between two bf16 values and rounds to the even one, 1: the product
    /// sees 1 where float32 sees 1.00390625 — on every path.
    func testOperandsAreRoundedToBF16() {
        forEachPath { isa in
            let path = String(cString: rk_isa_name(isa))
            let a: [Float] = [1 + 0x1p-8, 3], b: [Float] = [1, 1 + 0x1p-6]
            XCTAssertEqual(product(.bf16, m: 1, n: 1, k: 2, a: a, b: b), [1 + 3 * (1 + 0x1p-6)], path)
            XCTAssertEqual(product(.fp32, m: 1, n: 1, k: 2, a: a, b: b), [(1 + 0x1p-8) + 3 * (1 + 0x1p-6)], path)
        }
    }

    /// The same bits on 1 and 2 threads, on every path, and the same bits on every path (the
    /// portable kernel defines them), for shapes that split over threads and cross K blocks.
    func testSameBitsForAnyThreadCountAndPath() {
        var rng = XorShift(seed: 11)
        for (m, n, k, tA, tB) in [(200, 150, 800, false, true), (50, 1536, 512, false, false), (1536, 512, 300, true, false)] {
            let a = rng.fill(m * k), b = rng.fill(k * n)
            var results: [[Float]] = []
            forEachPath { isa in
                for threads: Int32 in [1, 2] {
                    results.append(withThreads(threads) { product(.bf16, m: m, n: n, k: k, a: a, b: b, transA: tA, transB: tB) })
                }
            }
            XCTAssertGreaterThanOrEqual(results.count, 2)
            for r in results.dropFirst() {
                XCTAssertEqual(r.map(\.bitPattern), results[0].map(\.bitPattern), "\(m)x\(n)x\(k) tA=\(tA) tB=\(tB)")
            }
            XCTAssertNotEqual(results[0], product(.fp32, m: m, n: n, k: k, a: a, b: b, transA: tA, transB: tB))
        }
    }

    /// A B packed in bf16 stays bf16 when the thread has gone back to float32 (and the other way
    /// round): the recurrent weight is packed once and multiplied at every step.
    func testPackedMatricesKeepTheirPrecision() {
        var rng = XorShift(seed: 12)
        let (m, n, k) = (7, 70, 90)
        let a = rng.fill(m * k), b = rng.fill(k * n)
        for packedIn in GEMM.MatmulPrecision.allCases {
            var packed = [Float](repeating: 0, count: GEMM.packedSize(n: n, k: k))
            GEMM.withMatmulPrecision(packedIn) { GEMM.pack(n: n, k: k, b: b, ldb: n, into: &packed) }
            for now in GEMM.MatmulPrecision.allCases {
                var c = [Float](repeating: 0, count: m * n)
                GEMM.withMatmulPrecision(now) {
                    GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, packedB: packed, c: &c, ldc: n)
                }
                XCTAssertEqual(c, product(packedIn, m: m, n: n, k: k, a: a, b: b), "packed in \(packedIn), run in \(now)")
            }
        }
    }

    /// Parts that the kernels hand to their pool run in the caller's precision, whichever thread
    /// takes them, and the next job's parts in that job's caller's.
    func testPoolPartsRunInTheCallersPrecision() {
        withThreads(2) {
            for precision in [GEMM.MatmulPrecision.bf16, .fp32, .bf16] {
                var seen = [Int32](repeating: -1, count: 16)
                GEMM.withMatmulPrecision(precision) {
                    seen.withUnsafeMutableBufferPointer { parts in
                        rk_parallel_parts(16, { context, part, _ in
                            // Long enough that the worker takes some of the parts.
                            var x: Double = 1
                            for i in 0..<20_000 { x = x * 1.000001 + Double(i & 1) }
                            context!.assumingMemoryBound(to: Int32.self)[Int(part)] = x > 0 ? rk_matmul_precision() : -2
                        }, parts.baseAddress)
                    }
                }
                XCTAssertEqual(seen, [Int32](repeating: precision.code, count: 16), "\(precision)")
            }
        }
    }

    /// The precision belongs to the thread that sets it.
    func testThePrecisionIsPerThread() {
        GEMM.withMatmulPrecision(.bf16) {
            XCTAssertEqual(GEMM.matmulPrecision, .bf16)
            final class Box: @unchecked Sendable { var seen: GEMM.MatmulPrecision? }
            let box = Box(), done = DispatchSemaphore(value: 0)
            Thread {
                box.seen = GEMM.matmulPrecision
                done.signal()
            }.start()
            done.wait()
            XCTAssertEqual(box.seen, .fp32)
        }
        XCTAssertEqual(GEMM.matmulPrecision, .fp32)
    }
}
