import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

final class LossTests: XCTestCase {
    func testCrossEntropyMatchesFormulaAndIgnoresNegativeTargets() {
        let z: [Float] = [1, 2, 3, 0.5, -1, 2, 9, 9, 9]
        let targets: [Int32] = [2, -1, 0]
        var dz = [Float](repeating: 7, count: 9)
        let (loss, count) = Loss.softmaxCrossEntropy(logits: z, rows: 3, classes: 3, targets: targets, gradient: &dz)
        XCTAssertEqual(count, 2)
        func nll(_ row: [Float], _ y: Int) -> Double {
            let s = row.map { Foundation.exp(Double($0)) }.reduce(0, +)
            return Foundation.log(s) - Double(row[y])
        }
        let expected = (nll([1, 2, 3], 2) + nll([9, 9, 9], 0)) / 2
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-6)
        XCTAssertEqual(Array(dz[3..<6]), [0, 0, 0])
        XCTAssertEqual(dz[6], (1.0 / 3 - 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(dz[7], (1.0 / 3) / 2, accuracy: 1e-6)
        // Gradient by finite differences on row 0.
        var zz = z
        for j in 0..<3 {
            zz[j] += 1e-2
            let plus = Loss.softmaxCrossEntropy(logits: zz, rows: 3, classes: 3, targets: targets, gradient: nil).loss
            zz[j] -= 2e-2
            let minus = Loss.softmaxCrossEntropy(logits: zz, rows: 3, classes: 3, targets: targets, gradient: nil).loss
            zz[j] += 1e-2
            XCTAssertEqual(dz[j], (plus - minus) / 2e-2, accuracy: 1e-3)
        }
    }

    func testCrossEntropyIsFiniteForHugeLogits() {
        let z: [Float] = [1e30, -1e30, 0, 80, 90, 100]
        let (loss, _) = Loss.softmaxCrossEntropy(logits: z, rows: 2, classes: 3, targets: [1, 0], gradient: nil)
        XCTAssertTrue(loss.isFinite)
        XCTAssertGreaterThan(loss, 1e29)
    }

    func testMeanSquaredError() {
        var g = [Float](repeating: 0, count: 3)
        let l = Loss.meanSquaredError([1, 2, 3], target: [1, 0, 4], count: 3, gradient: &g)
        XCTAssertEqual(l, 5.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(g, [0, 4.0 / 3, -2.0 / 3])
    }
}

final class OptimizerTests: XCTestCase {
    /// An arena with one parameter holding `values`, gradient `grads`.
    func arena(_ values: [Float], _ grads: [Float]) -> (ParameterArena, Parameter) {
        var layout = ParameterLayout()
        let p = layout.add("w", rows: values.count, initializer: .zeros)
        let a = ParameterArena(layout: layout, seed: 0)
        for i in values.indices { a.value(p)[i] = values[i]; a.gradient(p)[i] = grads[i] }
        return (a, p)
    }

    func testAdamFollowsTheFormula() {
        let (a, p) = arena([1, -2], [0.5, -0.1])
        let adam = Adam(arena: a, learningRate: 0.1)
        var m = [0.0, 0.0], v = [0.0, 0.0], w = [1.0, -2.0]
        for step in 1...3 {
            let g = [0.5, -0.1].map { $0 * Double(step) }
            for i in 0..<2 { a.gradient(p)[i] = Float(g[i]) }
            adam.step(a)
            for i in 0..<2 {
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mh = m[i] / (1 - Foundation.pow(0.9, Double(step)))
                let vh = v[i] / (1 - Foundation.pow(0.999, Double(step)))
                w[i] -= 0.1 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        XCTAssertEqual(Double(a.value(p)[0]), w[0], accuracy: 1e-5)
        XCTAssertEqual(Double(a.value(p)[1]), w[1], accuracy: 1e-5)
    }

    func testAdamWDecaysDecoupled() {
        let (a, p) = arena([2], [0])
        let opt = Adam.adamW(arena: a, learningRate: 0.1, weightDecay: 0.5)
        opt.step(a)
        // Zero gradient: only the decay moves the weight, θ ← θ − lr·λ·θ.
        XCTAssertEqual(a.value(p)[0], 2 - 0.1 * 0.5 * 2, accuracy: 1e-6)
    }

    func testSGDMomentumAsPyTorch() {
        let (a, p) = arena([1], [1])
        let sgd = SGD(arena: a, learningRate: 0.1, momentum: 0.9)
        sgd.step(a)          // v = g = 1; w = 1 − 0.1
        sgd.step(a)          // v = 0.9 + 1 = 1.9; w = 0.9 − 0.19
        XCTAssertEqual(a.value(p)[0], 0.71, accuracy: 1e-6)
    }

    func testAdagradAndRMSprop() {
        let (a, p) = arena([1], [2])
        let ada = Adagrad(arena: a, learningRate: 0.1)
        ada.step(a)          // s = 4; w = 1 − 0.1·2/2
        ada.step(a)          // s = 8; w −= 0.1·2/√8
        XCTAssertEqual(Double(a.value(p)[0]), 0.9 - 0.2 / 8.0.squareRoot(), accuracy: 1e-6)
        let (b, q) = arena([1], [2])
        let rms = RMSprop(arena: b, learningRate: 0.01, alpha: 0.9)
        rms.step(b)          // s = 0.1·4 = 0.4; w = 1 − 0.01·2/√0.4
        XCTAssertEqual(Double(b.value(q)[0]), 1 - 0.02 / 0.4.squareRoot(), accuracy: 1e-6)
    }

    func testGlobalNormClipping() {
        let (a, p) = arena([0, 0], [3, 4])
        XCTAssertEqual(GradientClipping.clip(a, maxNorm: 10), 5)
        XCTAssertEqual(a.gradient(p)[0], 3)   // under the limit: untouched
        XCTAssertEqual(GradientClipping.clip(a, maxNorm: 1), 5)
        XCTAssertEqual(GradientClipping.globalNorm(a), 1, accuracy: 1e-5)
        XCTAssertEqual(a.gradient(p)[0] / a.gradient(p)[1], 0.75, accuracy: 1e-6)
    }

    /// BPTT end to end: a vanilla RNN learns to output its input delayed by one step.
    func testVanillaRNNLearnsADelayByBPTT() {
        var layout = ParameterLayout()
        let layer = RecurrentLayer(cell: RNNCell("rnn", inputSize: 1, hiddenSize: 8, layout: &layout))
        let head = Linear("head", inputSize: 8, outputSize: 1, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)
        let adam = Adam(arena: arena, learningRate: 0.02)
        let (b, t) = (16, 10)
        var rng = SeededGenerator(seed: 2)
        var h = [Float](repeating: 0, count: b * t * 8), y = [Float](repeating: 0, count: b * t)
        var dy = y, dh = h
        let ws = RecurrentWorkspace()
        var first: Float = 0, last: Float = 0
        for step in 0..<400 {
            let x = (0..<(b * t)).map { _ in rng.nextUniform(-1, 1) }
            let target = (0..<(b * t)).map { $0 % t == 0 ? 0 : x[$0 - 1] }
            layer.forward(input: x, batch: b, steps: t, initialState: nil, output: &h, finalState: nil, workspace: ws, arena: arena)
            head.forward(h, rows: b * t, output: &y, arena: arena)
            let loss = Loss.meanSquaredError(y, target: target, count: b * t, gradient: &dy)
            arena.zeroGradients()
            for i in dh.indices { dh[i] = 0 }
            head.backward(h, rows: b * t, outputGradient: dy, inputGradient: &dh, arena: arena)
            layer.backward(input: x, batch: b, steps: t, outputGradient: dh, finalStateGradient: nil, inputGradient: nil,
                           initialStateGradient: nil, workspace: ws, arena: arena)
            GradientClipping.clip(arena, maxNorm: 5)
            adam.step(arena)
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, first / 20, "loss went from \(first) to \(last)")
    }
}

/// The charts a person reads: distinct ticks, a log axis when losses span decades, a dot per
/// evaluation, a one-point chart with its point inside the plot.
final class LineChartTests: XCTestCase {
    func labels(_ svg: String, anchor: String) -> [String] {
        svg.split(separator: "\n").filter { $0.contains("text-anchor=\"\(anchor)\"") && $0.contains("font-size=\"11\"") }
            .map { line in String(line.split(separator: ">")[1].split(separator: "<")[0]) }
    }

    func testTicksAreNiceAndDistinct() {
        XCTAssertEqual(LineChart.niceStep(10_000), 2_000)
        XCTAssertEqual(LineChart.niceStep(0.03), 0.01, accuracy: 1e-12)
        XCTAssertEqual(LineChart.niceStep(0.02), 0.005, accuracy: 1e-12)
        let chart = LineChart(title: "t", xLabel: "step", yLabel: "loss",
                              series: [.init(name: "train", points: [(10_000, 1.532), (17_000, 1.508), (25_000, 1.497)])])
        let svg = LineChart.document([chart])
        let x = labels(svg, anchor: "middle"), y = labels(svg, anchor: "end")
        XCTAssertEqual(x, ["10000", "15000", "20000", "25000"])
        XCTAssertEqual(Set(y).count, y.count, "\(y)")
        XCTAssertEqual(y, ["1.49", "1.50", "1.51", "1.52", "1.53", "1.54"])
    }

    func testLogAxisWhenLossesSpanDecadesAndDotsPerPoint() {
        XCTAssertTrue(LineChart.spansDecades([2.1, 0.9, 0.05]))
        XCTAssertFalse(LineChart.spansDecades([2.1, 0.9, 0.5]))
        XCTAssertFalse(LineChart.spansDecades([2.1, 0, 0.05]))
        let chart = LineChart(title: "t", xLabel: "step", yLabel: "loss", logY: true,
                              series: [.init(name: "train", points: [(100, 2.1), (200, 0.4), (300, 0.03)])])
        let svg = LineChart.document([chart])
        XCTAssertEqual(labels(svg, anchor: "end"), ["0.01", "0.1", "1", "10"])
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 3)
    }

    func testOnePointChartShowsThePoint() {
        let chart = LineChart(title: "t", xLabel: "step", yLabel: "loss",
                              series: [.init(name: "train", points: [(9, 1.0935)]), .init(name: "validation", points: [(9, 1.0787)])])
        let svg = LineChart.document([chart])
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2)
        XCTAssertEqual(labels(svg, anchor: "middle"), ["8", "9", "10"])
    }
}
