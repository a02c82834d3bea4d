import XCTest
import CRecurrentKernels
@testable import Recurrent
@testable import RecurrentApps

/// The narrow-weight matrix-vector kernels (bf16, int8) against their double references on
/// every path this machine has and awkward shapes; the same bits for every thread count; and
/// the conversions: bf16 rounding, int8 scales and clamping, zero rows, no NaNs from finite weights.
final class NarrowKernelTests: XCTestCase, KernelPathTesting {
    typealias XorShift = GEMMKernelTests.XorShift

    static let precisions: [InferencePrecision] = [.bf16, .int8, .w8a8]

    /// Fast path against the reference: M rows of x at a stride, overwrite and accumulate. The bound
    /// is float32 rounding of a K-term sum: a few ulp of Σ|w'·x| (+ |y| when accumulating); w8a8
    /// sums integers exactly, so it must give the reference's bits.
    func testMatchesReferenceOnAwkwardShapes() throws {
        try forEachPath { isa in
            var rng = XorShift(seed: 7)
            for precision in Self.precisions {
                for p in [1, 7, 33, 129, 512] {
                    for k in [1, 7, 33, 129, 512] {
                        let w = rng.fill(p * k)
                        let narrow = try NarrowMatrix(precision, rows: p, cols: k, weights: w)
                        var widened = [Float](repeating: 0, count: p * k)
                        narrow.widened(into: &widened)
                        for (m, accumulate) in [(1, false), (3, true)] {
                            let (ldx, ldy) = (k + 2, p + 3)
                            let x = rng.fill(m * ldx), y0 = rng.fill(m * ldy)
                            var fast = y0, reference = y0
                            narrow.multiply(x, rows: m, ldx: ldx, into: &fast, ldy: ldy, accumulate: accumulate)
                            narrow.reference(x, rows: m, ldx: ldx, into: &reference, ldy: ldy, accumulate: accumulate)
                            if precision == .w8a8 {
                                XCTAssertEqual(fast, reference, "\(GEMM.Path(rawValue: isa)!.name) w8a8 P \(p) K \(k)")
                                continue
                            }
                            var worst: Float = 0
                            for r in 0..<m {
                                for i in 0..<p {
                                    var magnitude = accumulate ? abs(y0[r * ldy + i]) : 0
                                    for j in 0..<k { magnitude += abs(widened[i * k + j] * x[r * ldx + j]) }
                                    let error = abs(fast[r * ldy + i] - reference[r * ldy + i])
                                    worst = max(worst, error / max(magnitude, 1e-30))
                                    XCTAssertLessThanOrEqual(error, 4e-6 * magnitude + 1e-30,
                                                             "\(GEMM.Path(rawValue: isa)!.name) \(precision) P \(p) K \(k) row \(r), \(i)")
                                }
                                // Padding between rows of y is never written.
                                for i in p..<ldy { XCTAssertEqual(fast[r * ldy + i], y0[r * ldy + i]) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The rows are split over threads; every row's sum is the same however they are split.
    func testSameBitsForEveryThreadCount() throws {
        try forEachPath { _ in
            var rng = XorShift(seed: 11)
            for precision in Self.precisions {
                for (p, k) in [(1024, 512), (1500, 129), (4096, 33)] {
                    let narrow = try NarrowMatrix(precision, rows: p, cols: k, weights: rng.fill(p * k))
                    let x = rng.fill(k), y0 = rng.fill(p)
                    let results = [Int32(1), 2, 3, 2].map { threads in
                        withThreads(threads) { () -> [Float] in
                            var y = y0
                            for _ in 0..<3 { narrow.multiply(x, into: &y, accumulate: true) }
                            return y
                        }
                    }
                    for r in results.dropFirst() { XCTAssertEqual(r, results[0], "\(precision) P \(p) K \(k)") }
                }
            }
        }
    }

    /// w8a8 against float32 arithmetic on the widened weights: x is rounded to a step of
    /// s_x = max|x|/127, so each output is off by at most Σ_k |w'[p, k]|·s_x/2 (plus rounding).
    func testW8A8QuantisesActivationsWithinHalfAStep() throws {
        var rng = XorShift(seed: 17)
        for (p, k) in [(33, 129), (256, 512), (7, 1)] {
            let narrow = try NarrowMatrix(.w8a8, rows: p, cols: k, weights: rng.fill(p * k))
            var widened = [Float](repeating: 0, count: p * k)
            narrow.widened(into: &widened)
            let x = rng.fill(k)
            let sx = x.map(abs).max()! / 127
            var y = [Float](repeating: .nan, count: p)
            narrow.multiply(x, into: &y)
            for i in 0..<p {
                var exact = 0.0, bound = 0.0
                for j in 0..<k {
                    exact += Double(widened[i * k + j]) * Double(x[j])
                    bound += Double(abs(widened[i * k + j])) * Double(sx) / 2
                }
                XCTAssertLessThanOrEqual(abs(Double(y[i]) - exact), bound * 1.0001 + 1e-6, "P \(p) K \(k) row \(i)")
            }
        }
        // A zero vector gives zeros; a non-finite one gives NaN (never a silently wrong number).
        let narrow = try NarrowMatrix(.w8a8, rows: 3, cols: 4, weights: rng.fill(12))
        var y = [Float](repeating: 1, count: 3)
        narrow.multiply([0, 0, 0, 0], into: &y)
        XCTAssertEqual(y, [0, 0, 0])
        narrow.multiply([1, .infinity, 0, 0], into: &y)
        XCTAssertTrue(y.allSatisfy(\.isNaN), "\(y)")
    }

    func bf16(_ bits: UInt32) throws -> UInt16 {
        let narrow = try NarrowMatrix(.bf16, rows: 1, cols: 1, weights: [Float(bitPattern: bits)])
        return narrow.bf16Bits[0]
    }

    /// Nearest bfloat16, ties to the even one (PyTorch's .to(torch.bfloat16)).
    func testBF16RoundsToNearestTiesToEven() throws {
        XCTAssertEqual(try bf16(0x3F80_0000), 0x3F80)             // 1
        XCTAssertEqual(try bf16(0x3F80_7FFF), 0x3F80)             // just below half an ulp: down
        XCTAssertEqual(try bf16(0x3F80_8000), 0x3F80)             // a tie, 0x3F80 even: down
        XCTAssertEqual(try bf16(0x3F81_8000), 0x3F82)             // a tie, 0x3F81 odd: up
        XCTAssertEqual(try bf16(0x3F80_8001), 0x3F81)             // above half: up
        XCTAssertEqual(try bf16(0xBF81_8000), 0xBF82)             // negative, the same magnitude
        XCTAssertEqual(try bf16(0x3F7F_FFFF), 0x3F80)             // carries into the exponent
        XCTAssertEqual(try bf16(0x0000_0001), 0x0000)             // smallest subnormal rounds to zero
        XCTAssertEqual(try bf16(0x8000_0000), 0x8000)             // −0 stays −0
        var rng = XorShift(seed: 3)
        let w = (0..<10_000).map { i in rng.next() * Float(1 << (i % 40)) / Float(1 << 20) }
        let narrow = try NarrowMatrix(.bf16, rows: 100, cols: 100, weights: w)
        var widened = [Float](repeating: .nan, count: w.count)
        narrow.widened(into: &widened)
        for (a, b) in zip(w, widened) {
            XCTAssertTrue(b.isFinite)
            XCTAssertEqual(b.bitPattern & 0xFFFF, 0)
            XCTAssertLessThanOrEqual(abs(a - b), abs(a) * 0x1p-8, "\(a) → \(b)")   // half an ulp of an 8-bit significand
            // Nearest: no closer bfloat16 among the two that bracket a.
            let down = Float(bitPattern: a.bitPattern & 0xFFFF_0000), up = Float(bitPattern: (a.bitPattern & 0xFFFF_0000) + 0x1_0000)
            XCTAssertLessThanOrEqual(abs(a - b), min(abs(a - down), abs(a - up)), "\(a) → \(b)")
        }
        XCTAssertThrowsError(try NarrowMatrix(.bf16, rows: 1, cols: 3, weights: [1, .nan, 2], name: "W_hh")) {
            XCTAssertEqual("\($0)", "invalid weight W_hh[0, 1] 'nan': expected a finite number to store as bf16")
        }
        XCTAssertThrowsError(try NarrowMatrix(.fp32, rows: 1, cols: 1, weights: [1]))
    }

    /// Per row: scale max|w|/127, q = round(w/scale) within ±127, the largest weight exact; zero rows stay zero.
    func testInt8ScalesClampsAndZeroRows() throws {
        let w: [Float] = [127, -63.5, 0.5, 1.5,            // scale 1: q 127, −64, 0, 2 (ties to even)
                          0, 0, 0, 0,                      // a zero row
                          -3e38, 3e38, 1, -1,              // huge: no overflow to inf or NaN
                          7 * .leastNonzeroMagnitude, -7 * .leastNonzeroMagnitude, 0, 0]   // subnormal: the scale underflows to 0, the row to zeros
        let narrow = try NarrowMatrix(.int8, rows: 4, cols: 4, weights: w)
        let q = (0..<16).map { Int(narrow.int8Values[$0]) }, s = (0..<4).map { narrow.int8Scales[$0] }
        XCTAssertEqual(s[0], 1)
        XCTAssertEqual(Array(q[0..<4]), [127, -64, 0, 2])
        XCTAssertEqual(s[1], 0)
        XCTAssertEqual(Array(q[4..<8]), [0, 0, 0, 0])
        XCTAssertEqual(Array(q[8..<12]), [-127, 127, 0, 0])
        XCTAssertEqual(Array(q[12..<16]), [0, 0, 0, 0])
        var widened = [Float](repeating: .nan, count: 16)
        narrow.widened(into: &widened)
        XCTAssertTrue(widened.allSatisfy(\.isFinite), "\(widened)")
        XCTAssertEqual(widened[0], 127 * s[0])
        XCTAssertEqual(Array(widened[4..<8]), [0, 0, 0, 0])
        var y: [Float] = [.nan, .nan, .nan, .nan]
        narrow.multiply([1, 1, 1, 1], into: &y)
        XCTAssertTrue(y.allSatisfy(\.isFinite), "\(y)")
        XCTAssertEqual(y[1], 0)
        // Random rows: every q within ±127, the row's largest |w| maps to ±127, error at most half a step.
        var rng = XorShift(seed: 5)
        let (p, k) = (64, 33)
        let r = (0..<(p * k)).map { i in rng.next() * Float(1 + i / k) }
        let random = try NarrowMatrix(.int8, rows: p, cols: k, weights: r)
        var back = [Float](repeating: 0, count: p * k)
        random.widened(into: &back)
        for row in 0..<p {
            let values = (0..<k).map { Int(random.int8Values[row * k + $0]) }
            XCTAssertEqual(values.map(abs).max(), 127)
            let scale = random.int8Scales[row]
            for j in 0..<k { XCTAssertLessThanOrEqual(abs(back[row * k + j] - r[row * k + j]), scale * 0.5001) }
        }
    }
}
