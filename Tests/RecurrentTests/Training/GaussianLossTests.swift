import Foundation
import XCTest
@testable import Recurrent

/// The Gaussian negative log-likelihood against a hand computation, its mask, and its gradient
/// against central finite differences.
final class GaussianLossTests: XCTestCase {
    func testValueByHandAndMaskedRowsIgnored() {
        // Rows (a, b, y): (0.5, 0, 1) counted, (−1, 2, −1) masked out, (3, −1, 0) counted.
        let pairs: [Float] = [0.5, 0, -1, 2, 3, -1]
        let targets: [Float] = [1, -1, 0]
        let mask: [UInt8] = [1, 0, 1]
        var gradient = [Float](repeating: 7, count: 6)
        let (loss, count) = Loss.gaussianNegativeLogLikelihood(pairs, targets: targets, rows: 3, mask: mask, gradient: &gradient)
        XCTAssertEqual(count, 2)
        // σ = softplus(b) + 0.001: softplus(0) = log 2, softplus(−1) = log(1 + e^{−1}).
        let σ0 = 0.6931471805599453 + 0.001, σ2 = 0.31326168751822286 + 0.001
        let halfLog2π = 0.9189385332046727
        let row0 = log(σ0) + 0.25 / (2 * σ0 * σ0) + halfLog2π
        let row2 = log(σ2) + 9 / (2 * σ2 * σ2) + halfLog2π
        XCTAssertEqual(Double(loss), (row0 + row2) / 2, accuracy: 1e-5)
        XCTAssertEqual(Array(gradient[2..<4]), [0, 0], "a masked row gets a zero gradient (written, not left)")
        XCTAssertEqual(Double(gradient[0]), -(1 - 0.5) / (σ0 * σ0) / 2, accuracy: 1e-6)
        // Without a mask every row counts.
        let all = Loss.gaussianNegativeLogLikelihood(pairs, targets: targets, rows: 3, gradient: nil)
        XCTAssertEqual(all.count, 3)
        XCTAssertEqual(Double(Loss.gaussianScale(0)), σ0, accuracy: 1e-15)
        // A huge b stays finite (softplus(b) ≈ b) and a very negative one meets the floor.
        XCTAssertEqual(Loss.gaussianScale(1000), 1000.001, accuracy: 1e-9)
        XCTAssertEqual(Loss.gaussianScale(-1000), 0.001, accuracy: 1e-12)
    }

    func testGradientMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 3)
        let rows = 12
        var pairs = (0..<(2 * rows)).map { _ in rng.nextUniform(-1.5, 1.5) }
        let targets = (0..<rows).map { _ in rng.nextUniform(-2, 2) }
        let mask: [UInt8] = (0..<rows).map { $0 % 3 == 0 ? 0 : 1 }
        var gradient = [Float](repeating: 0, count: 2 * rows)
        Loss.gaussianNegativeLogLikelihood(pairs, targets: targets, rows: rows, mask: mask, gradient: &gradient)
        let checker = GradientChecker(epsilon: 1e-2, absoluteTolerance: 1e-4, relativeTolerance: 1e-2, entriesPerTensor: 2 * rows)
        let report = pairs.withUnsafeMutableBufferPointer { p in
            checker.check("pairs", values: p.baseAddress!, analytic: gradient) {
                Double(Loss.gaussianNegativeLogLikelihood(p.baseAddress!, targets: targets, rows: rows, mask: mask, gradient: nil).loss)
            }
        }
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertEqual(report.checked, 2 * rows)
    }
}
