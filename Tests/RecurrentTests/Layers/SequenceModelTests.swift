import Foundation
import XCTest
@testable import Recurrent

/// Every readout of SequenceModel, with ragged lengths and both directions, against finite differences.
final class SequenceModelTests: XCTestCase {
    func testReadoutGradients() throws {
        for readout in [SequenceModel.Readout.allSteps, .lastStep, .finalState, .mean] {
            for (kind, bidirectional) in [(CellKind.lstm, true), (.gru, false)] {
                var layout = ParameterLayout()
                let model = try SequenceModel(input: .features(3), kind: kind, hiddenSize: 4, layers: 2,
                                              bidirectional: bidirectional, outputs: 2, layout: &layout)
                let arena = ParameterArena(layout: layout, seed: 4)
                let (b, t) = (3, 5)
                let lengths: [Int32]? = readout == .lastStep ? nil : [5, 2, 4]
                let x = TestBuffer(randomArray(b * t * 3, seed: 5))
                let rows = readout == .allSteps ? b * t : b
                let w = randomArray(rows * 2, seed: 6)
                var out = [Float](repeating: 0, count: rows * 2)
                let ws = SequenceModelWorkspace()
                func loss() -> Double {
                    var rng = SeededGenerator(seed: 0)
                    model.forward(features: x.pointer, batch: b, steps: t, lengths: lengths, readout: readout, output: &out,
                                  rng: &rng, workspace: ws, arena: arena)
                    return zip(w, out).reduce(0) { $0 + Double($1.0 * $1.1) }
                }
                _ = loss()
                arena.zeroGradients()
                model.backward(features: x.pointer, batch: b, steps: t, lengths: lengths, readout: readout, outputGradient: w,
                               workspace: ws, arena: arena)
                let report = GradientChecker(entriesPerTensor: 10).check(arena, loss: loss)
                XCTAssertTrue(report.passed, "\(readout) \(kind) bi \(bidirectional): \(report)")
            }
        }
    }

    /// Mean pooling ignores the padding: a row's output is the same whatever follows its end.
    func testPaddingDoesNotLeakIntoPooledOutputs() throws {
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(2), kind: .lstm, hiddenSize: 3, bidirectional: true, outputs: 1,
                                      layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        for readout in [SequenceModel.Readout.mean, .finalState] {
            var x = randomArray(2 * 4 * 2, seed: 2)
            var a = [Float](repeating: 0, count: 2), c = a
            var rng = SeededGenerator(seed: 0)
            model.forward(features: x, batch: 2, steps: 4, lengths: [4, 2], readout: readout, output: &a, rng: &rng,
                          workspace: SequenceModelWorkspace(), arena: arena)
            for i in 12..<16 { x[i] = 99 }   // row 1, steps 2 and 3: padding
            model.forward(features: x, batch: 2, steps: 4, lengths: [4, 2], readout: readout, output: &c, rng: &rng,
                          workspace: SequenceModelWorkspace(), arena: arena)
            XCTAssertEqual(a, c, "\(readout)")
        }
    }
}
