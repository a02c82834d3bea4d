import XCTest
import CRecurrentKernels

/// The layer-normalised step kernels (`rk_lnlstm_*`, `rk_lngru_*`) against their references, on
/// every instruction-set path this machine has, on awkward widths (H = 1, 7, 16, 17, 33, 100),
/// batches of 1 and 3 and row strides wider than the rows; and a row's bits against the same row
/// alone and against other thread counts.
final class LayerNormKernelTests: XCTestCase, KernelPathTesting {
    typealias XorShift = GEMMKernelTests.XorShift
    typealias Buf = GateKernelTests.Buf

    static let widths = [1, 7, 16, 17, 33, 100]
    static let batches = [1, 3]
    static let pad = 3 // extra columns in every row stride
    static let epsilon: Float = 1e-5

    /// (rows, width) with row stride width + pad, random in [−scale, scale).
    func block(_ rows: Int, _ width: Int, _ rng: inout XorShift, scale: Float = 1) -> [Float] {
        (0..<(rows * (width + Self.pad))).map { _ in rng.next() * scale }
    }

    /// Runs `fast` and `reference` on copies of the same outputs and compares them whole, padding
    /// included: |fast − reference| / (|reference| + 1) at most `tolerance`.
    func compare(_ name: String, _ outputs: [[Float]], tolerance: Float,
                 fast: ([UnsafeMutablePointer<Float>]) -> Void, reference: ([UnsafeMutablePointer<Float>]) -> Void) {
        let a = outputs.map(Buf.init), b = outputs.map(Buf.init)
        fast(a.map(\.p))
        reference(b.map(\.p))
        for k in outputs.indices {
            var worst: Float = 0
            for (x, y) in zip(a[k].array, b[k].array) { worst = max(worst, x.isNaN != y.isNaN ? .infinity : abs(x - y) / (abs(y) + 1)) }
            XCTAssertLessThanOrEqual(worst, tolerance, "\(name): output \(k) differs by \(worst)")
        }
    }

    /// The step parameters of one cell: gains around 1, biases small.
    struct Parameters {
        let gainP, gainQ, biasP, biasQ, gainC, biasC: [Float]
        init(g: Int, h: Int, _ rng: inout XorShift) {
            (gainP, gainQ) = ((0..<g).map { _ in 1 + rng.next() / 2 }, (0..<g).map { _ in 1 + rng.next() / 2 })
            (biasP, biasQ) = (rng.fill(g), rng.fill(g))
            (gainC, biasC) = ((0..<h).map { _ in 1 + rng.next() / 2 }, rng.fill(h))
        }
    }

    func testLayerNormLSTMAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 41)
            for h in Self.widths {
                for b in Self.batches {
                    let name = "lnlstm \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                    let (g, pad) = (4 * h, Self.pad)
                    let (lp, ls, lh, lk, lsum) = (g + pad, 2 * h + pad, h + pad, 8 * h + 4 + pad, 14 * h + pad)
                    let w = Parameters(g: g, h: h, &rng)
                    let p = block(b, g, &rng, scale: 3), q = block(b, g, &rng, scale: 2)
                    let prev = Buf(block(b, 2 * h, &rng)), cp = prev.p + h
                    let outs = [block(b, 2 * h, &rng), block(b, h, &rng), block(b, 8 * h + 4, &rng)] // state, y, cache
                    compare(name + " forward", outs, tolerance: 1e-5, fast: { o in
                        rk_lnlstm_forward(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, Self.epsilon,
                                          cp, ls, o[0], ls, o[0] + h, ls, o[1], lh, o[2], lk)
                    }, reference: { o in
                        rk_lnlstm_forward_ref(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC,
                                              Self.epsilon, cp, ls, o[0], ls, o[0] + h, ls, o[1], lh, o[2], lk)
                    })
                    // Backward from a cache the reference wrote.
                    let st = Buf(block(b, 2 * h, &rng)), y = Buf(block(b, h, &rng)), cache = Buf(block(b, 8 * h + 4, &rng))
                    rk_lnlstm_forward_ref(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, Self.epsilon,
                                          cp, ls, st.p, ls, st.p + h, ls, y.p, lh, cache.p, lk)
                    let dy = block(b, h, &rng)
                    // dp, dq, ds = [dh | dc], the sums
                    let bouts = [block(b, g, &rng), block(b, g, &rng), block(b, 2 * h, &rng), block(b, 14 * h, &rng)]
                    compare(name + " backward", bouts, tolerance: 1e-5, fast: { o in
                        rk_lnlstm_backward(b, h, o[0], lp, o[1], lp, dy, lh, o[2], ls, o[2] + h, ls, cache.p, lk, cp, ls,
                                           st.p + h, ls, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, o[3], lsum)
                    }, reference: { o in
                        rk_lnlstm_backward_ref(b, h, o[0], lp, o[1], lp, dy, lh, o[2], ls, o[2] + h, ls, cache.p, lk, cp,
                                               ls, st.p + h, ls, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, o[3], lsum)
                    })
                }
            }
        }
    }

    func testLayerNormGRUAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 42)
            for h in Self.widths {
                for b in Self.batches {
                    let name = "lngru \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                    let (g, pad) = (3 * h, Self.pad)
                    let (lp, lh, lk, lsum) = (g + pad, h + pad, 6 * h + 2 + pad, 12 * h + pad)
                    let w = Parameters(g: g, h: h, &rng)
                    let p = block(b, g, &rng, scale: 3), q = block(b, g, &rng, scale: 2), prev = block(b, h, &rng)
                    let outs = [block(b, h, &rng), block(b, h, &rng), block(b, 6 * h + 2, &rng)] // h, y, cache
                    compare(name + " forward", outs, tolerance: 1e-5, fast: { o in
                        rk_lngru_forward(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.biasQ, Self.epsilon, prev, lh,
                                         o[0], lh, o[1], lh, o[2], lk)
                    }, reference: { o in
                        rk_lngru_forward_ref(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.biasQ, Self.epsilon, prev, lh,
                                             o[0], lh, o[1], lh, o[2], lk)
                    })
                    let hs = Buf(block(b, h, &rng)), y = Buf(block(b, h, &rng)), cache = Buf(block(b, 6 * h + 2, &rng))
                    rk_lngru_forward_ref(b, h, p, lp, q, lp, w.gainP, w.gainQ, w.biasP, w.biasQ, Self.epsilon, prev, lh,
                                         hs.p, lh, y.p, lh, cache.p, lk)
                    let dy = block(b, h, &rng)
                    // dp, dq, dh, the sums
                    let bouts = [block(b, g, &rng), block(b, g, &rng), block(b, h, &rng), block(b, 12 * h, &rng)]
                    compare(name + " backward", bouts, tolerance: 1e-5, fast: { o in
                        rk_lngru_backward(b, h, o[0], lp, o[1], lp, dy, lh, o[2], lh, cache.p, lk, prev, lh, w.gainP,
                                          w.gainQ, w.biasP, w.biasQ, o[3], lsum)
                    }, reference: { o in
                        rk_lngru_backward_ref(b, h, o[0], lp, o[1], lp, dy, lh, o[2], lh, cache.p, lk, prev, lh, w.gainP,
                                              w.gainQ, w.biasP, w.biasQ, o[3], lsum)
                    })
                }
            }
        }
    }

    /// Both cells' forward then backward over `b` contiguous rows (the cells' layout), in one call
    /// or one call per row; returns every output.
    func runBoth(b: Int, h: Int, seed: UInt64, oneRowAtATime: Bool) -> [Float] {
        var rng = XorShift(seed: seed)
        var results: [Float] = []
        for lstm in [true, false] {
            let g = (lstm ? 4 : 3) * h
            let (s, c, n) = (lstm ? 2 * h : h, lstm ? 8 * h + 4 : 6 * h + 2, lstm ? 14 * h : 12 * h)
            let w = Parameters(g: g, h: h, &rng)
            let p = Buf(rng.fill(b * g).map { $0 * 3 }), q = Buf(rng.fill(b * g).map { $0 * 2 })
            let prev = Buf(rng.fill(b * s)), dy = Buf(rng.fill(b * h)), ds = Buf(rng.fill(b * s))
            let state = Buf(.init(repeating: 0, count: b * s)), y = Buf(.init(repeating: 0, count: b * h))
            let cache = Buf(.init(repeating: 0, count: b * c)), sums = Buf(.init(repeating: 0, count: b * n))
            let dp = Buf(.init(repeating: 0, count: b * g)), dq = Buf(.init(repeating: 0, count: b * g))
            let parts = oneRowAtATime ? (0..<b).map { ($0, $0 + 1) } : [(0, b)]
            for (r0, r1) in parts {
                let (rows, pr, qr, hp, sr, dsr) = (r1 - r0, p.p + r0 * g, q.p + r0 * g, prev.p + r0 * s, state.p + r0 * s,
                                                   ds.p + r0 * s)
                let (yr, kr, dyr, dpr, dqr, sumr) = (y.p + r0 * h, cache.p + r0 * c, dy.p + r0 * h, dp.p + r0 * g,
                                                     dq.p + r0 * g, sums.p + r0 * n)
                if lstm {
                    rk_lnlstm_forward(rows, h, pr, g, qr, g, w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, Self.epsilon,
                                      hp + h, s, sr, s, sr + h, s, yr, h, kr, c)
                    rk_lnlstm_backward(rows, h, dpr, g, dqr, g, dyr, h, dsr, s, dsr + h, s, kr, c, hp + h, s, sr + h, s,
                                       w.gainP, w.gainQ, w.biasP, w.gainC, w.biasC, sumr, n)
                } else {
                    rk_lngru_forward(rows, h, pr, g, qr, g, w.gainP, w.gainQ, w.biasP, w.biasQ, Self.epsilon, hp, s, sr, s,
                                     yr, h, kr, c)
                    rk_lngru_backward(rows, h, dpr, g, dqr, g, dyr, h, dsr, s, kr, c, hp, s, w.gainP, w.gainQ, w.biasP,
                                      w.biasQ, sumr, n)
                }
            }
            results += state.array + y.array + cache.array + ds.array + dp.array + dq.array + sums.array
        }
        return results
    }

    /// Row r of a batch gives the bits of that row run alone, and a batch large enough to be split
    /// over the thread pool gives the same bits with 1, 2 and 3 threads.
    func testRowsDoNotDependOnBatchOrThreads() {
        forEachPath { isa in
            let name = String(cString: rk_isa_name(isa))
            for h in [7, 17, 100] {
                XCTAssertTrue(runBoth(b: 3, h: h, seed: 43, oneRowAtATime: false) == runBoth(b: 3, h: h, seed: 43, oneRowAtATime: true),
                              "\(name) H=\(h): a row in a batch differs from the row alone")
            }
            // 61 rows of H = 100: enough work per thread for the kernels to split the rows.
            let runs = [Int32(1), 2, 3].map { n in withThreads(n) { runBoth(b: 61, h: 100, seed: 44, oneRowAtATime: false) } }
            XCTAssertTrue(runs[0] == runs[1], "\(name): 1 vs 2 threads")
            XCTAssertTrue(runs[0] == runs[2], "\(name): 1 vs 3 threads")
        }
    }
}
