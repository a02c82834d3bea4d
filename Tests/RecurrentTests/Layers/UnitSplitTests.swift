import Foundation
import XCTest
@testable import Recurrent

/// The step loop split by hidden units (`RecurrentUnitSplit`) against the row loop: the same
/// bits for outputs, final states, and — since the workspace is left as the row loop leaves it —
/// every gradient of the backward that follows; stacked, both directions, ragged rows, unit
/// counts that are and are not multiples of 16, 2 and 3 parts. Streaming steps split by units
/// (`UnitSplitWeights`, `rk_unit_step`) against steps by rows, likewise.
final class UnitSplitTests: XCTestCase {
    func run(_ kind: CellKind, hidden h: Int, batch b: Int, bidirectional: Bool, lengths: [Int32]?, split: Bool) throws -> StackRun {
        RecurrentUnitSplit.enabled = split
        defer { RecurrentUnitSplit.enabled = true }
        return try StackRun(kind, hidden: h, input: 5, batch: b, steps: 7, bidirectional: bidirectional, lengths: lengths, seed: 11)
    }

    func testUnitSplitGivesTheRowLoopsBits() throws {
        let saved = (GEMM.threads, RecurrentUnitSplit.minimumWeightBytes, RecurrentUnitSplit.largeWeightBytes)
        // Every layer takes the split, whatever its size, on 2 and 3 threads.
        (RecurrentUnitSplit.minimumWeightBytes, RecurrentUnitSplit.largeWeightBytes) = (0, 0)
        defer { (GEMM.threads, RecurrentUnitSplit.minimumWeightBytes, RecurrentUnitSplit.largeWeightBytes) = saved }
        for threads in [2, 3] {
            GEMM.threads = threads
            for kind in [CellKind.lstm, .gru, .rnnTanh] {
                for (h, b) in [(64, 1), (100, 3), (48, 4)] {
                    for (bidirectional, lengths) in [(false, nil), (true, Array([7, 3, 0, 5].prefix(b)) as [Int32]?)] {
                        XCTAssertGreaterThan(RecurrentUnitSplit.parts(batch: b, steps: 7, hidden: h,
                                                                      weight: Parameter(name: "w", offset: 0, rows: 4 * h, cols: h),
                                                                      stored: .arena), 1)
                        let split = try run(kind, hidden: h, batch: b, bidirectional: bidirectional, lengths: lengths, split: true)
                        let rows = try run(kind, hidden: h, batch: b, bidirectional: bidirectional, lengths: lengths, split: false)
                        let what = "\(kind) H \(h) B \(b) bidirectional \(bidirectional) threads \(threads)"
                        XCTAssertEqual(split.y, rows.y, "outputs, \(what)")
                        XCTAssertEqual(split.sT, rows.sT, "final states, \(what)")
                        XCTAssertEqual(split.gradients, rows.gradients, "parameter gradients, \(what)")
                        XCTAssertEqual(split.dx, rows.dx, "input gradient, \(what)")
                        XCTAssertEqual(split.ds0, rows.ds0, "initial-state gradient, \(what)")
                        XCTAssertGreaterThan(split.y.map(abs).max() ?? 0, 0, what)
                    }
                }
            }
        }
    }

    func testStreamingUnitSplitGivesTheRowStepsBits() throws {
        let saved = (GEMM.threads, RecurrentUnitSplit.streamingWeightBytes)
        // Every layer takes the split, whatever its size.
        RecurrentUnitSplit.streamingWeightBytes = 0
        defer { (GEMM.threads, RecurrentUnitSplit.streamingWeightBytes) = saved }
        for threads in [2, 3] {
            GEMM.threads = threads
            for kind in [CellKind.lstm, .gru, .rnnTanh, .rnnRelu] {
                for h in [48, 100] {
                    var layout = ParameterLayout()
                    let stack = try RecurrentStack(kind: kind, inputSize: 5, hiddenSize: h, layers: 2, layout: &layout)
                    let arena = ParameterArena(layout: layout, seed: 7)
                    let split = StepWorkspace(), rows = StepWorkspace()
                    stack.packWeights(into: split, arena: arena)
                    RecurrentUnitSplit.enabled = false
                    stack.packWeights(into: rows, arena: arena)
                    RecurrentUnitSplit.enabled = true
                    let what = "\(kind) H \(h) threads \(threads)"
                    XCTAssertEqual(split.unitSplit.map { $0?.parts.count }, [threads, threads].map { min($0, h / 16) }, what)
                    XCTAssertEqual(rows.unitSplit.compactMap { $0 }.count, 0, what)
                    let p = stack.cells[0].projectionSize
                    for b in 1...RecurrentUnitSplit.streamingRows {
                        var s1 = RecurrentState(stack: stack, batch: b), s2 = s1
                        for t in 0..<4 {
                            let x = randomArray(b * 5, seed: UInt64(100 + 10 * b + t))
                            let a = try stack.step(x, state: &s1, workspace: split, arena: arena)
                            let c = try stack.step(x, state: &s2, workspace: rows, arena: arena)
                            XCTAssertEqual(a, c, "\(what) B \(b) step \(t)")
                            XCTAssertGreaterThan(a.map(abs).max() ?? 0, 0, what)
                        }
                        XCTAssertEqual(s1, s2, "\(what) B \(b)")
                        // The first layer's projection given (a token model's table rows).
                        var table = [Float](repeating: 0, count: b * p)
                        stack.firstLayerProjections(randomArray(b * 5, seed: 300), rows: b, output: &table, arena: arena)
                        var a = [Float](repeating: 0, count: b * stack.outputSize), c = a
                        try stack.step(firstLayerProjection: table, state: &s1, output: &a, workspace: split, arena: arena)
                        try stack.step(firstLayerProjection: table, state: &s2, output: &c, workspace: rows, arena: arena)
                        XCTAssertEqual(a, c, "\(what) B \(b) table")
                        XCTAssertEqual(s1, s2, "\(what) B \(b) table")
                    }
                }
            }
        }
    }

    func testRangesAndPolicy() {
        XCTAssertEqual(RecurrentUnitSplit.ranges(hidden: 256, parts: 2), [0..<128, 128..<256])
        XCTAssertEqual(RecurrentUnitSplit.ranges(hidden: 100, parts: 2), [0..<48, 48..<100])
        XCTAssertEqual(RecurrentUnitSplit.ranges(hidden: 48, parts: 3), [0..<16, 16..<32, 32..<48])
        let big = Parameter(name: "w", offset: 0, rows: 1024, cols: 256)   // DeepBench's W_hh, 1 MB
        let saved = GEMM.threads
        defer { GEMM.threads = saved }
        GEMM.threads = 2
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 4, steps: 150, hidden: 256, weight: big, stored: .arena), 2)
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 4, steps: 1, hidden: 256, weight: big, stored: .arena), 1)
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 64, steps: 150, hidden: 256, weight: big, stored: .arena), 1)
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 8, steps: 150, hidden: 256, weight: big, stored: .arena), 1)
        let larger = Parameter(name: "w", offset: 0, rows: 2048, cols: 512)   // H 512: 4 MB
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 8, steps: 150, hidden: 512, weight: larger, stored: .arena), 2)
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 9, steps: 150, hidden: 512, weight: larger, stored: .arena), 1)
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 4, steps: 150, hidden: 16,
                                                weight: Parameter(name: "w", offset: 0, rows: 64, cols: 16), stored: .arena), 1)
        // Streaming steps: from a W_hh of 400 KB (gru-256's 768 KB, not lstm-128's 256 KB).
        func cell(_ kind: CellKind, _ h: Int) throws -> any RecurrentCell {
            var layout = ParameterLayout()
            return try RecurrentStack(kind: kind, inputSize: 8, hiddenSize: h, layers: 1, layout: &layout).cells[0]
        }
        func streaming(_ c: any RecurrentCell) -> Int? { RecurrentUnitSplit.streamingParts(c) }
        XCTAssertEqual(streaming(try cell(.gru, 256)), 2)
        XCTAssertEqual(streaming(try cell(.lstm, 512)), 2)
        XCTAssertNil(streaming(try cell(.lstm, 128)))
        XCTAssertNil(streaming(try cell(.lngru, 512)))
        GEMM.threads = 1
        XCTAssertEqual(RecurrentUnitSplit.parts(batch: 4, steps: 150, hidden: 256, weight: big, stored: .arena), 1)
        XCTAssertNil(streaming(try cell(.gru, 256)))
    }
}
