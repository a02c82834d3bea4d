import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Recurrent
@testable import RecurrentApps

final class LongRangeTaskTests: XCTestCase {
    func testAddingBatchesAndBaseline() {
        var rng = SeededGenerator(seed: 1)
        let t = 20, b = 4000
        let batch = LongRangeTask.adding.makeBatch(length: t, batch: b, rng: &rng)
        XCTAssertEqual(batch.features.count, b * t * 2)
        var mse = 0.0
        for r in 0..<b {
            let marks = (0..<t).filter { batch.features[(r * t + $0) * 2 + 1] == 1 }
            XCTAssertEqual(marks.count, 2)
            XCTAssertLessThan(marks[0], t / 2)
            XCTAssertGreaterThanOrEqual(marks[1], t / 2)
            let sum = marks.reduce(Float(0)) { $0 + batch.features[(r * t + $1) * 2] }
            XCTAssertEqual(batch.sums[r], sum)
            mse += Double((1 - sum) * (1 - sum))
        }
        // Predicting 1 always: MSE 1/6.
        XCTAssertEqual(mse / Double(b), LongRangeTask.adding.baseline(length: t), accuracy: 0.01)
    }

    func testCopyBatches() {
        var rng = SeededGenerator(seed: 2)
        let t = 7, l = LongRangeTask.copy.sequenceLength(t), f = 10
        let batch = LongRangeTask.copy.makeBatch(length: t, batch: 3, rng: &rng)
        for r in 0..<3 {
            let symbols = (0..<l).map { s in (0..<f).first { batch.features[(r * l + s) * f + $0] == 1 }! }
            XCTAssertTrue(symbols[0..<10].allSatisfy { (1...8).contains($0) })
            XCTAssertTrue(symbols[10..<(t + 9)].allSatisfy { $0 == 0 })
            XCTAssertEqual(symbols[t + 9], 9)
            XCTAssertTrue(symbols[(t + 10)...].allSatisfy { $0 == 0 })
            let targets = Array(batch.classes[(r * l)..<((r + 1) * l)])
            XCTAssertTrue(targets[0..<(t + 10)].allSatisfy { $0 == 0 })
            XCTAssertEqual(targets[(t + 10)...].map(Int.init), Array(symbols[0..<10]))
        }
        XCTAssertEqual(LongRangeTask.copy.baseline(length: 100), 10 * Foundation.log(8.0) / 120, accuracy: 1e-12)
    }

    func testComparisonRunsAndLSTMLearnsAShortAddingProblem() throws {
        var config = CellComparisonConfiguration()
        config.task = .adding
        config.length = 8
        config.cells = [.lstm, .rnnTanh]
        config.hiddenSize = 16
        config.steps = 300
        config.batch = 32
        config.learningRate = 1e-2
        config.evaluateEvery = 100
        config.testSize = 200
        var reports = 0
        let result = try compareCells(config) { _, _, _ in reports += 1 }
        XCTAssertEqual(result.runs.map(\.cell), [.lstm, .rnnTanh])
        XCTAssertEqual(reports, 2 * 4)
        for run in result.runs {
            XCTAssertEqual(run.curve.map(\.step), [0, 100, 200, 300])
            XCTAssertEqual(run.gradientNorms.count, 8)
            XCTAssertTrue(run.gradientNorms.allSatisfy { $0.isFinite && $0 > 0 })
        }
        let lstm = result.runs[0]
        XCTAssertLessThan(lstm.testLoss, result.baseline / 4, "LSTM test loss \(lstm.testLoss)")
    }

    func testBadComparisonSettingsThrow() {
        var config = CellComparisonConfiguration()
        config.length = 1
        XCTAssertThrowsError(try compareCells(config)) { XCTAssertEqual("\($0)", "invalid length '1': expected 2...100000") }
        config.length = 10
        config.hiddenSize = 0
        XCTAssertThrowsError(try compareCells(config))
    }

    func testChartIsWellFormedSVG() throws {
        let chart = LineChart(title: "a <b>", xLabel: "x", yLabel: "y", logY: true,
                              series: [.init(name: "s", points: [(0, 1), (1, 0.1), (2, 0)])])
        let svg = LineChart.document([chart])
        let document = try XMLDocument(xmlString: svg)
        XCTAssertEqual(document.rootElement()?.name, "svg")
        XCTAssertTrue(svg.contains("a &lt;b&gt;"))
    }
}
