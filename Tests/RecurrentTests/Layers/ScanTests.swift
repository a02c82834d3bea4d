import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// Cells linear in their state (minGRU, minLSTM) run whole sequences as a scan over time; the
/// step-by-step loop (which streaming uses) must give the same outputs, final states and
/// gradients to 1e-5 — stacked, both directions, ragged rows, both thread splits, whole and
/// partial chunks of steps.
final class ScanTests: XCTestCase {
    func run(_ kind: CellKind, bidirectional: Bool, lengths: [Int32]?, scan: Bool) throws -> StackRun {
        RecurrentLayerScan.enabled = scan
        defer { RecurrentLayerScan.enabled = true }
        return try StackRun(kind, hidden: 6, input: 3, batch: 4, steps: 9, bidirectional: bidirectional, lengths: lengths, seed: 3)
    }

    func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
    }

    func testScanAndStepByStepAgree() throws {
        for kind in [CellKind.mingru, .minlstm] {
            for bidirectional in [false, true] {
                for lengths in [nil, [9, 4, 0, 7] as [Int32]] {
                    // One part and one chunk; a part per thread and chunks of 4 steps (9 = 4 + 4 + 1).
                    for (minimumWork, chunk) in [(2e6, 32), (0, 4)] {
                        ParallelRows.minimumWork = minimumWork
                        RecurrentLayerScan.chunk = chunk
                        defer { ParallelRows.minimumWork = 2e6; RecurrentLayerScan.chunk = 32 }
                        let scan = try run(kind, bidirectional: bidirectional, lengths: lengths, scan: true)
                        let steps = try run(kind, bidirectional: bidirectional, lengths: lengths, scan: false)
                        let what = "\(kind) bidirectional \(bidirectional) lengths \(lengths.map { "\($0)" } ?? "none")"
                        XCTAssertLessThan(largestDifference(scan.y, steps.y), 1e-5, "outputs, \(what)")
                        XCTAssertLessThan(largestDifference(scan.sT, steps.sT), 1e-5, "final states, \(what)")
                        XCTAssertLessThan(largestDifference(scan.gradients, steps.gradients), 1e-5, "parameter gradients, \(what)")
                        XCTAssertLessThan(largestDifference(scan.dx, steps.dx), 1e-5, "input gradient, \(what)")
                        XCTAssertLessThan(largestDifference(scan.ds0, steps.ds0), 1e-5, "initial-state gradient, \(what)")
                        XCTAssertGreaterThan(scan.gradients.map(abs).max() ?? 0, 0, what)
                    }
                }
            }
        }
    }
}
