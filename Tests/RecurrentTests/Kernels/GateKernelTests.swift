import XCTest
import CRecurrentKernels
import Foundation

/// The fused elementwise kernels (gates, softmax cross-entropy, optimiser loops) against their
/// naive libm references, on every instruction-set path this machine has, on awkward widths
/// (H = 1, 7, 16, 17, 33, 100), batches of 1 and 3 and row strides wider than the rows.
final class GateKernelTests: XCTestCase, KernelPathTesting {
    typealias XorShift = GEMMKernelTests.XorShift

    static let widths = [1, 7, 16, 17, 33, 100]
    static let batches = [1, 3]
    static let pad = 5 // extra columns in every row stride

    /// Largest |a − b| / (|b| + 1) over equal-length buffers; a NaN anywhere counts as infinite.
    func maxError(_ a: [Float], _ b: [Float]) -> Float {
        var worst: Float = 0
        for (x, y) in zip(a, b) {
            if x.isNaN != y.isNaN { return .infinity }
            if x.isNaN { continue }
            worst = max(worst, abs(x - y) / (abs(y) + 1))
        }
        return worst
    }

    /// Distance in units in the last place between `x` and the Double `reference`.
    func ulps(_ x: Float, _ reference: Double) -> Double {
        let r = Float(reference)
        if r == 0 { return x == 0 ? 0 : .infinity }
        return abs(Double(x) - reference) / Double(r.ulp)
    }

    func testTranscendentalsAreWithinAFewULPs() {
        var xs: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-7, 0.625, -0.625, 0.6249999, 87, -87, 88, -87.3]
        var x: Float = -30
        while x <= 30 { xs.append(x); x += 0.001 }
        x = 1e-6
        while x < 1 { xs.append(x); xs.append(-x); x *= 1.01 }
        let limits: [(Int, String, Double, (Double) -> Double, ClosedRange<Float>)] = [
            (RK_MAP_EXP, "exp", 2, { Foundation.exp($0) }, -87...88),
            (RK_MAP_SIGMOID, "sigmoid", 3, { 1 / (1 + Foundation.exp(-$0)) }, -80...80),
            (RK_MAP_TANH, "tanh", 3, { Foundation.tanh($0) }, -100...100),
        ]
        forEachPath { isa in
            for (fn, name, limit, reference, range) in limits {
                let input = xs.filter { range.contains($0) }
                var y = [Float](repeating: 0, count: input.count)
                rk_map(Int32(fn), input.count, input, &y)
                var worst = 0.0, at: Float = 0
                for (xi, yi) in zip(input, y) {
                    let e = ulps(yi, reference(Double(xi)))
                    if e > worst { worst = e; at = xi }
                }
                XCTAssertLessThanOrEqual(worst, limit, "\(name) on \(String(cString: rk_isa_name(isa))): \(worst) ulp at x = \(at)")
            }
            // Saturation and NaN.
            let special: [Float] = [-.infinity, .infinity, -200, 200, .nan]
            var s = [Float](repeating: 0, count: special.count), t = s
            rk_map(Int32(RK_MAP_SIGMOID), special.count, special, &s)
            rk_map(Int32(RK_MAP_TANH), special.count, special, &t)
            for (k, e) in [Float(0), 1, 0, 1].enumerated() { XCTAssertEqual(s[k], e, accuracy: 1e-30) }
            XCTAssertEqual(Array(t[0..<4]), [-1, 1, -1, 1])
            XCTAssertTrue(s[4].isNaN && t[4].isNaN)
        }
    }

    /// A (rows, width) block with row stride width + pad, random in [−scale, scale).
    func block(_ rows: Int, _ width: Int, _ rng: inout XorShift, scale: Float = 3) -> [Float] {
        (0..<(rows * (width + Self.pad))).map { _ in rng.next() * scale }
    }

    /// Floats in raw memory, so a test can pass interior pointers (the c half of a state row).
    final class Buf {
        let p: UnsafeMutablePointer<Float>
        let count: Int
        init(_ values: [Float]) {
            count = values.count
            p = .allocate(capacity: max(count, 1))
            p.initialize(from: values, count: count)
        }
        deinit { p.deallocate() }
        var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
    }

    /// Runs `fast` and `reference` on copies of the same outputs and compares them, padding included
    /// (the kernels must not write between rows).
    func compare(_ name: String, _ outputs: [[Float]], tolerance: Float,
                 fast: ([UnsafeMutablePointer<Float>]) -> Void, reference: ([UnsafeMutablePointer<Float>]) -> Void) {
        let a = outputs.map(Buf.init), b = outputs.map(Buf.init)
        fast(a.map(\.p))
        reference(b.map(\.p))
        for k in 0..<outputs.count {
            let e = maxError(a[k].array, b[k].array)
            XCTAssertLessThanOrEqual(e, tolerance, "\(name): output \(k) differs by \(e)")
        }
    }

    func testLSTMAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 11)
            for h in Self.widths {
                for b in Self.batches {
                    let name = "LSTM \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                    let (lp, ls, lh, lk) = (4 * h + Self.pad, 2 * h + Self.pad, h + Self.pad, 5 * h + Self.pad)
                    let a = block(b, 4 * h, &rng), bias = (0..<(4 * h)).map { _ in rng.next() }
                    let prev = Buf(block(b, 2 * h, &rng)), cp = prev.p + h
                    let outs = [block(b, 2 * h, &rng), block(b, h, &rng), block(b, 5 * h, &rng)] // state, y, cache
                    compare(name + " forward", outs, tolerance: 4e-6, fast: { o in
                        rk_lstm_forward(b, h, a, lp, bias, cp, ls, o[0], ls, o[0] + h, ls, o[1], lh, o[2], lk)
                    }, reference: { o in
                        rk_lstm_forward_ref(b, h, a, lp, bias, cp, ls, o[0], ls, o[0] + h, ls, o[1], lh, o[2], lk)
                    })
                    // Backward from a cache of genuine gate values.
                    let st = Buf(block(b, 2 * h, &rng)), y = Buf(block(b, h, &rng)), cache = Buf(block(b, 5 * h, &rng))
                    rk_lstm_forward_ref(b, h, a, lp, bias, cp, ls, st.p, ls, st.p + h, ls, y.p, lh, cache.p, lk)
                    let dy = block(b, h, &rng)
                    let bouts = [block(b, 4 * h, &rng), block(b, 2 * h, &rng)] // da, ds = [dh | dc]
                    compare(name + " backward", bouts, tolerance: 4e-6, fast: { o in
                        rk_lstm_backward(b, h, o[0], lp, dy, lh, o[1], ls, o[1] + h, ls, cache.p, lk, cp, ls)
                    }, reference: { o in
                        rk_lstm_backward_ref(b, h, o[0], lp, dy, lh, o[1], ls, o[1] + h, ls, cache.p, lk, cp, ls)
                    })
                }
            }
        }
    }

    func testGRUAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 12)
            for h in Self.widths {
                for b in Self.batches {
                    let name = "GRU \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                    let (lp, lh, lk) = (3 * h + Self.pad, h + Self.pad, 4 * h + Self.pad)
                    let a = block(b, 3 * h, &rng), q = block(b, 3 * h, &rng), bias = (0..<(3 * h)).map { _ in rng.next() }
                    let prev = block(b, h, &rng)
                    let outs = [block(b, h, &rng), block(b, h, &rng), block(b, 4 * h, &rng)] // h, y, cache
                    compare(name + " forward", outs, tolerance: 4e-6, fast: { o in
                        rk_gru_forward(b, h, a, lp, q, lp, bias, prev, lh, o[0], lh, o[1], lh, o[2], lk)
                    }, reference: { o in
                        rk_gru_forward_ref(b, h, a, lp, q, lp, bias, prev, lh, o[0], lh, o[1], lh, o[2], lk)
                    })
                    var cache = block(b, 4 * h, &rng), hs = block(b, h, &rng), y = block(b, h, &rng)
                    rk_gru_forward_ref(b, h, a, lp, q, lp, bias, prev, lh, &hs, lh, &y, lh, &cache, lk)
                    let dy = block(b, h, &rng)
                    let bouts = [block(b, 3 * h, &rng), block(b, 3 * h, &rng), block(b, h, &rng)] // da, dq, dh
                    compare(name + " backward", bouts, tolerance: 4e-6, fast: { o in
                        rk_gru_backward(b, h, o[0], lp, o[1], lp, dy, lh, o[2], lh, cache, lk, prev, lh)
                    }, reference: { o in
                        rk_gru_backward_ref(b, h, o[0], lp, o[1], lp, dy, lh, o[2], lh, cache, lk, prev, lh)
                    })
                }
            }
        }
    }

    func testRNNAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 13)
            for relu: Int32 in [0, 1] {
                for h in Self.widths {
                    for b in Self.batches {
                        let name = "RNN relu=\(relu) \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                        let lh = h + Self.pad
                        let a = block(b, h, &rng), bias = (0..<h).map { _ in rng.next() }
                        compare(name + " forward", [block(b, h, &rng), block(b, h, &rng)], tolerance: 4e-6, fast: { o in
                            rk_rnn_forward(b, h, relu, a, lh, bias, o[0], lh, o[1], lh)
                        }, reference: { o in
                            rk_rnn_forward_ref(b, h, relu, a, lh, bias, o[0], lh, o[1], lh)
                        })
                        let hs = block(b, h, &rng, scale: 1), dy = block(b, h, &rng), dh = block(b, h, &rng)
                        compare(name + " backward", [block(b, h, &rng)], tolerance: 0, fast: { o in
                            rk_rnn_backward(b, h, relu, o[0], lh, hs, lh, dy, lh, dh, lh)
                        }, reference: { o in
                            rk_rnn_backward_ref(b, h, relu, o[0], lh, hs, lh, dy, lh, dh, lh)
                        })
                    }
                }
            }
        }
    }

    /// minGRU and minLSTM coefficients (a, b, the cache) and their backward.
    func testMinimalCellCoefficientsAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 17)
            for lstm: Int32 in [0, 1] {
                let g = lstm == 1 ? 3 : 2
                for h in Self.widths {
                    for b in Self.batches {
                        let name = "min\(lstm == 1 ? "LSTM" : "GRU") \(String(cString: rk_isa_name(isa))) H=\(h) B=\(b)"
                        let (lp, lab) = (g * h + Self.pad, h + Self.pad)
                        let p = block(b, g * h, &rng)
                        let outputs = [block(b, h, &rng), block(b, h, &rng), [Float](repeating: 0, count: b * g * h)]
                        compare(name + " forward", outputs, tolerance: 4e-6, fast: { o in
                            rk_min_coefficients(b, h, lstm, p, lp, o[0], o[1], lab, o[2])
                        }, reference: { o in
                            rk_min_coefficients_ref(b, h, lstm, p, lp, o[0], o[1], lab, o[2])
                        })
                        // A cache as the forward leaves it, and random ∂a, ∂b.
                        var a = block(b, h, &rng), bb = block(b, h, &rng), cache = [Float](repeating: 0, count: b * g * h)
                        rk_min_coefficients_ref(b, h, lstm, p, lp, &a, &bb, lab, &cache)
                        let da = block(b, h, &rng), db = block(b, h, &rng)
                        compare(name + " backward", [block(b, g * h, &rng)], tolerance: 1e-6, fast: { o in
                            rk_min_coefficients_backward(b, h, lstm, da, db, lab, cache, o[0], lp)
                        }, reference: { o in
                            rk_min_coefficients_backward_ref(b, h, lstm, da, db, lab, cache, o[0], lp)
                        })
                    }
                }
            }
        }
    }

    /// Row r of a batch gives the same bits as that row run alone: no lane depends on its neighbours.
    func testRowsDoNotDependOnBatch() {
        forEachPath { _ in
            var rng = XorShift(seed: 14)
            for h in [7, 17, 33, 100] {
                let b = 3, lp = 4 * h, ls = 2 * h
                let a = Buf((0..<(b * lp)).map { _ in rng.next() * 3 }), bias = (0..<(4 * h)).map { _ in rng.next() }
                let prev = Buf((0..<(b * ls)).map { _ in rng.next() })
                let st = Buf(.init(repeating: 0, count: b * ls)), y = Buf(.init(repeating: 0, count: b * h))
                let cache = Buf(.init(repeating: 0, count: b * 5 * h))
                rk_lstm_forward(b, h, a.p, lp, bias, prev.p + h, ls, st.p, ls, st.p + h, ls, y.p, h, cache.p, 5 * h)
                for r in 0..<b {
                    let s1 = Buf(.init(repeating: 0, count: ls)), y1 = Buf(.init(repeating: 0, count: h))
                    let c1 = Buf(.init(repeating: 0, count: 5 * h))
                    rk_lstm_forward(1, h, a.p + r * lp, lp, bias, prev.p + r * ls + h, ls, s1.p, ls, s1.p + h, ls,
                                    y1.p, h, c1.p, 5 * h)
                    XCTAssertEqual(s1.array, Array(st.array[(r * ls)..<((r + 1) * ls)]), "H=\(h) row \(r)")
                    XCTAssertEqual(c1.array, Array(cache.array[(r * 5 * h)..<((r + 1) * 5 * h)]), "H=\(h) row \(r)")
                }
            }
        }
    }

    /// The step kernels split rows over the thread pool when the batch is large: the bits must not
    /// depend on the thread count.
    func testStepKernelsDeterministicAcrossThreadCounts() {
        let original = rk_threads()
        defer { rk_set_threads(original) }
        forEachPath { isa in
            var rng = XorShift(seed: 17)
            let (b, h) = (61, 100)
            let a = (0..<(b * 4 * h)).map { _ in rng.next() * 3 }, bias = (0..<(4 * h)).map { _ in rng.next() }
            let prev = Buf((0..<(b * 2 * h)).map { _ in rng.next() }), dy = (0..<(b * h)).map { _ in rng.next() }
            var results: [[Float]] = []
            for threads: Int32 in [1, 2, 3] {
                rk_set_threads(threads)
                let st = Buf(.init(repeating: 0, count: b * 2 * h)), y = Buf(.init(repeating: 0, count: b * h))
                let cache = Buf(.init(repeating: 0, count: b * 5 * h)), da = Buf(.init(repeating: 0, count: b * 4 * h))
                let ds = Buf(prev.array)
                rk_lstm_forward(b, h, a, 4 * h, bias, prev.p + h, 2 * h, st.p, 2 * h, st.p + h, 2 * h, y.p, h, cache.p, 5 * h)
                rk_lstm_backward(b, h, da.p, 4 * h, dy, h, ds.p, 2 * h, ds.p + h, 2 * h, cache.p, 5 * h, prev.p + h, 2 * h)
                results.append(st.array + cache.array + da.array + ds.array)
            }
            XCTAssertEqual(results[0], results[1], "isa \(isa): 1 vs 2 threads")
            XCTAssertEqual(results[0], results[2], "isa \(isa): 1 vs 3 threads")
        }
    }

    func testSoftmaxCrossEntropyAgainstReference() {
        forEachPath { isa in
            var rng = XorShift(seed: 15)
            for v in [1, 2, 15, 16, 17, 65, 100] {
                let rows = 7
                let z = (0..<(rows * (v + 3))).map { _ in rng.next() * 20 }
                let targets: [Int32] = (0..<rows).map { r in r == 2 ? -1 : Int32((r * 7) % v) }
                let scale: Float = 1 / 6
                var g1 = [Float](repeating: .nan, count: rows * (v + 3)), g2 = g1
                let l1 = rk_softmax_xent(rows, v, z, v + 3, targets, scale, &g1, v + 3)
                let l2 = rk_softmax_xent_ref(rows, v, z, v + 3, targets, scale, &g2, v + 3)
                let name = "\(String(cString: rk_isa_name(isa))) V=\(v)"
                XCTAssertEqual(l1, l2, accuracy: 1e-5 * max(1, abs(l2)), name)
                // Only the V columns of each row are written.
                for r in 0..<rows {
                    for j in 0..<(v + 3) {
                        let (a, b) = (g1[r * (v + 3) + j], g2[r * (v + 3) + j])
                        if j >= v { XCTAssertTrue(a.isNaN, "\(name) wrote padding") } else {
                            XCTAssertEqual(a, b, accuracy: 4e-6 * scale, "\(name) row \(r) col \(j)") // the reference rounds lse
                        }
                    }
                }
                XCTAssertEqual(rk_softmax_xent(rows, v, z, v + 3, targets, scale, nil, 0), l1, name)
            }
        }
    }

    /// The optimiser and bookkeeping loops do the scalar loops' operations in the same order: equal bits.
    func testFlatLoopsMatchScalarLoops() {
        forEachPath { isa in
            var rng = XorShift(seed: 16)
            for n in [1, 7, 16, 17, 100, 1001] {
                let name = "\(String(cString: rk_isa_name(isa))) n=\(n)"
                for decoupled: Int32 in [0, 1] {
                    let g = (0..<n).map { _ in rng.next() }
                    var w1 = (0..<n).map { _ in rng.next() }, m1 = (0..<n).map { _ in rng.next() * 0.1 }
                    var v1 = (0..<n).map { _ in abs(rng.next()) * 0.01 }
                    var (w2, m2, v2) = (w1, m1, v1)
                    rk_adam(n, &w1, g, &m1, &v1, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 1e-2, 0.3)
                    rk_adam_ref(n, &w2, g, &m2, &v2, 1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, 1e-2, 0.3)
                    XCTAssertEqual(w1, w2, name)
                    XCTAssertEqual(m1, m2, name)
                    XCTAssertEqual(v1, v2, name)
                }
                let x = (0..<n).map { _ in rng.next() }
                let exact = x.reduce(0.0) { $0 + Double($1) * Double($1) }
                XCTAssertEqual(rk_sum_squares(n, x), exact, accuracy: 1e-12 * exact, name)
                var s = x
                rk_scale(n, &s, 0.37)
                XCTAssertEqual(s, x.map { $0 * 0.37 }, name)
                // Column sums and bias broadcast over a strided (rows, cols) block.
                let rows = 5, ld = n + 3
                let block = (0..<(rows * ld)).map { _ in rng.next() }
                var sums = (0..<n).map { _ in rng.next() }
                var expected = sums
                for i in 0..<rows { for j in 0..<n { expected[j] += block[i * ld + j] } }
                rk_column_sums(rows, n, block, ld, &sums)
                XCTAssertEqual(sums, expected, name)
                var y = block, yExpected = block
                for i in 0..<rows { for j in 0..<n { yExpected[i * ld + j] += x[j] } }
                rk_add_bias(rows, n, x, &y, ld)
                XCTAssertEqual(y, yExpected, name)
            }
        }
    }

    /// Adam, the bias broadcast, the column sums and the token-row gather and scatter-add split over
    /// the pool when large (by elements, rows or columns): every thread count gives the scalar
    /// loops' bits. Sizes straddle the split's
    /// threshold and its 64-element alignment.
    func testFlatLoopsSplitOverThreadsKeepTheirBits() {
        forEachPath { isa in
            var rng = XorShift(seed: 17)
            let n = 200_003
            let g = (0..<n).map { _ in rng.next() }, w0 = (0..<n).map { _ in rng.next() }
            let m0 = (0..<n).map { _ in rng.next() * 0.1 }, v0 = (0..<n).map { _ in abs(rng.next()) * 0.01 }
            var (wr, mr, vr) = (w0, m0, v0)
            rk_adam_ref(n, &wr, g, &mr, &vr, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1, 1e-2, 0.3)
            let rows = 1003, cols = 301, ld = 307
            let block = (0..<(rows * ld)).map { _ in rng.next() }
            let bias = (0..<cols).map { _ in rng.next() }, sums0 = (0..<cols).map { _ in rng.next() }
            var sumsExpected = sums0, yExpected = block
            for i in 0..<rows {
                for j in 0..<cols {
                    sumsExpected[j] += block[i * ld + j]
                    yExpected[i * ld + j] += bias[j]
                }
            }
            // A token lookup and its gradient: repeated rows, and −1 (zeros; skipped).
            let (vocabulary, width, count) = (37, 203, 1500)
            let table0 = (0..<(vocabulary * width)).map { _ in rng.next() }
            let ids: [Int32] = (0..<count).map { i in
                let id = Int(abs(rng.next()) * 1e4) % vocabulary
                return i % 11 == 0 ? -1 : Int32(id)
            }
            let dy = (0..<(count * width)).map { _ in rng.next() }
            var gathered = [Float](repeating: 0, count: count * width), tableExpected = table0
            for i in 0..<count where ids[i] >= 0 {
                for j in 0..<width {
                    gathered[i * width + j] = table0[Int(ids[i]) * width + j]
                    tableExpected[Int(ids[i]) * width + j] += dy[i * width + j]
                }
            }
            for threads: Int32 in [1, 2, 3] {
                let name = "\(String(cString: rk_isa_name(isa))) threads=\(threads)"
                withThreads(threads) {
                    var rowsOut = [Float](repeating: .nan, count: count * width)
                    rk_gather_rows(count, width, table0, ids, &rowsOut)
                    XCTAssertTrue(rowsOut == gathered, "gather rows \(name)")
                    var table = table0
                    rk_scatter_add_rows(count, width, dy, ids, &table)
                    XCTAssertTrue(table == tableExpected, "scatter-add rows \(name)")
                    var (w, m, v) = (w0, m0, v0)
                    rk_adam(n, &w, g, &m, &v, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1, 1e-2, 0.3)
                    XCTAssertTrue(w == wr, "adam w \(name)")
                    XCTAssertTrue(m == mr, "adam m \(name)")
                    XCTAssertTrue(v == vr, "adam v \(name)")
                    var sums = sums0
                    rk_column_sums(rows, cols, block, ld, &sums)
                    XCTAssertTrue(sums == sumsExpected, "column sums \(name)")
                    var y = block
                    rk_add_bias(rows, cols, bias, &y, ld)
                    XCTAssertTrue(y == yExpected, "add bias \(name)")
                }
            }
        }
    }
}
