import XCTest
import CRecurrentKernels

/// rk_sgemm_packed (B packed once by rk_sgemm_pack_b) against rk_sgemm_ref, and bit for bit
/// against rk_sgemm with the same arguments: every transpose, awkward shapes, M = 1, every
/// path this machine has, one and two threads.
final class PackedGEMMTests: XCTestCase, KernelPathTesting {
    typealias XorShift = GEMMKernelTests.XorShift

    func pack(transB: Bool, n: Int, k: Int, b: [Float], ldb: Int) -> [Float] {
        var packed = [Float](repeating: .nan, count: rk_sgemm_packed_b_size(Int32(n), Int32(k)))
        rk_sgemm_pack_b(transB ? 1 : 0, Int32(n), Int32(k), b, Int32(ldb), &packed)
        return packed
    }

    func testSameBitsAsUnpackedAndCloseToReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 31)
            for threads: Int32 in [1, 2] {
                withThreads(threads) {
                    for (transA, transB) in GEMMKernelTests.transposes {
                        for (m, n, k, beta) in [(1, 1, 1, Float(0)), (1, 45, 29, 1), (3, 17, 7, 0.3), (50, 512, 128, 1),
                                                (37, 33, 400, 0), (14, 100, 1, 1), (2, 300, 900, 0.5)] {
                            let pad = 3
                            let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
                            let a = rng.fill((transA ? k : m) * lda), b = rng.fill((transB ? n : k) * ldb)
                            let c0 = rng.fill(m * ldc)
                            var fast = c0, unpacked = c0, want = c0
                            let packed = pack(transB: transB, n: n, k: k, b: b, ldb: ldb)
                            let (tA, tB) = (Int32(transA ? 1 : 0), Int32(transB ? 1 : 0))
                            XCTAssertEqual(rk_sgemm_packed(tA, Int32(m), Int32(n), Int32(k), 0.7, a, Int32(lda), packed,
                                                           beta, &fast, Int32(ldc)), 0)
                            rk_sgemm(tA, tB, Int32(m), Int32(n), Int32(k), 0.7, a, Int32(lda), b, Int32(ldb), beta,
                                     &unpacked, Int32(ldc))
                            rk_sgemm_ref(tA, tB, Int32(m), Int32(n), Int32(k), 0.7, a, Int32(lda), b, Int32(ldb), beta,
                                         &want, Int32(ldc))
                            let name = "\(String(cString: rk_isa_name(isa))) threads \(threads) tA=\(transA) tB=\(transB) \(m)x\(n)x\(k)"
                            XCTAssertEqual(fast.map(\.bitPattern), unpacked.map(\.bitPattern), name)
                            let worst = zip(fast, want).map { abs($0 - $1) }.max() ?? 0
                            XCTAssertLessThanOrEqual(worst, 1e-4 * Float(k).squareRoot(), name)
                        }
                    }
                }
            }
        }
    }

    /// Packing splits the panels over the threads when B is large: the same bytes for any thread
    /// count (every K block, ragged last panel, both layouts of B).
    func testPackingIsTheSameForAnyThreadCount() {
        forEachPath { isa in
            var rng = XorShift(seed: 34)
            for (n, k) in [(768, 256), (517, 1000), (2048, 512), (33, 4000)] {
                for transB in [false, true] {
                    let ldb = (transB ? k : n) + 5
                    let b = rng.fill((transB ? n : k) * ldb)
                    let packs = ([1, 2, 3] as [Int32]).map { threads in
                        withThreads(threads) { pack(transB: transB, n: n, k: k, b: b, ldb: ldb) }
                    }
                    let name = "\(String(cString: rk_isa_name(isa))) \(n)x\(k) transB=\(transB)"
                    for t in 1...2 {
                        XCTAssertTrue(packs[t].elementsEqual(packs[0]) { $0.bitPattern == $1.bitPattern },
                                      name + ": \(t + 1) threads differ from 1")
                    }
                    // After the header (16 floats, 4 of them used): every panel float written.
                    XCTAssertFalse(packs[0].dropFirst(16).contains { $0.isNaN }, name + ": a float left unwritten")
                }
            }
        }
    }

    /// Row i computed alone (M = 1) from the packed B equals row i of the whole product.
    func testRowsDoNotDependOnM() {
        forEachPath { isa in
            var rng = XorShift(seed: 32)
            for (m, n, k) in [(50, 512, 128), (7, 45, 400), (3, 16, 7)] {
                let a = rng.fill(m * k), b = rng.fill(n * k), c0 = rng.fill(m * n)
                let packed = pack(transB: true, n: n, k: k, b: b, ldb: k)
                var whole = c0
                rk_sgemm_packed(0, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), packed, 1, &whole, Int32(n))
                for i in [0, m / 2, m - 1] {
                    var row = Array(c0[(i * n)..<((i + 1) * n)])
                    rk_sgemm_packed(0, 1, Int32(n), Int32(k), 1, Array(a[(i * k)..<((i + 1) * k)]), Int32(k), packed, 1,
                                    &row, Int32(n))
                    XCTAssertEqual(row, Array(whole[(i * n)..<((i + 1) * n)]), "isa \(isa) \(m)x\(n)x\(k) row \(i)")
                }
            }
        }
    }

    /// Batch-1 products big enough to be split over the threads (by columns): the same bits as
    /// one thread, and as the row inside a larger product.
    func testSplitBatchOneProductsKeepTheirBits() {
        forEachPath { isa in
            var rng = XorShift(seed: 33)
            for (n, k) in [(768, 256), (512, 128), (2048, 512), (1000, 77)] {
                let a = rng.fill(4 * k), b = rng.fill(n * k), c0 = rng.fill(4 * n)
                let packed = pack(transB: true, n: n, k: k, b: b, ldb: k)
                var whole = c0
                rk_sgemm_packed(0, 4, Int32(n), Int32(k), 1, a, Int32(k), packed, 1, &whole, Int32(n))
                let rows: [[Float]] = [1, 2].map { threads in
                    withThreads(threads) {
                        var row = Array(c0[(2 * n)..<(3 * n)])
                        rk_sgemm_packed(0, 1, Int32(n), Int32(k), 1, Array(a[(2 * k)..<(3 * k)]), Int32(k), packed, 1, &row, Int32(n))
                        return row
                    }
                }
                let name = "isa \(isa) 1x\(n)x\(k)"
                XCTAssertEqual(rows[0].map(\.bitPattern), rows[1].map(\.bitPattern), name)
                XCTAssertEqual(rows[1].map(\.bitPattern), whole[(2 * n)..<(3 * n)].map(\.bitPattern), name)
            }
        }
    }

    func testShapeMismatchIsRefused() {
        let b = [Float](repeating: 1, count: 12)
        let packed = pack(transB: false, n: 4, k: 3, b: b, ldb: 4)
        var c = [Float](repeating: 7, count: 4)
        XCTAssertEqual(rk_sgemm_packed(0, 1, 4, 2, 1, [1, 1], 2, packed, 0, &c, 4), -1)
        XCTAssertEqual(c, [7, 7, 7, 7])
    }
}
