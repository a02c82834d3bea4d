import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

/// `CharModelExplanation` and `UnitStatistics`: the numbers behind `rnn explain`.
final class ExplanationTests: XCTestCase {
    func model(_ kind: CellKind, text: String, hidden: Int = 8, layers: Int = 2, seed: UInt64 = 3) throws -> CharLanguageModel {
        let config = CharModelConfiguration(cell: kind, vocabulary: Vocabulary(text: text), embeddingSize: 5, hiddenSize: hidden,
                                            layers: layers)
        return try CharLanguageModel(configuration: config, seed: seed)
    }

    /// Over a whole text the mean surprisal × ln 2 is the score's nats per character.
    func testSurprisalIsTheScoresLoss() throws {
        let text = generatedText(700) + "\"quoted (x)\"\n"
        for kind in [CellKind.lstm, .gru, .rnnTanh, .lnlstm, .lngru, .mingru, .minlstm] {
            let m = try model(kind, text: text)
            let ids = try m.configuration.vocabulary.encode(text)
            let (nats, predictions) = m.negativeLogLikelihood(ids)
            let explanation = try m.explain(ids)
            XCTAssertEqual(explanation.steps.count, ids.count - 1)
            XCTAssertFalse(explanation.truncated)
            let score = nats / Double(predictions), ours = explanation.meanSurprisalBits * M_LN2
            XCTAssertEqual(ours, score, accuracy: 1e-6 * score, "\(kind)")
            for (t, step) in explanation.steps.enumerated() {
                XCTAssertEqual(step.character, m.configuration.vocabulary.symbol(ids[t]))
                XCTAssertEqual(step.next, m.configuration.vocabulary.symbol(ids[t + 1]))
                XCTAssertEqual(step.top.count, 5)
                XCTAssertTrue(zip(step.top, step.top.dropFirst()).allSatisfy { $0.probability >= $1.probability }, "\(kind) \(t)")
                XCTAssertLessThanOrEqual(step.top.reduce(0) { $0 + $1.probability }, 1 + 1e-9)
                // The target's probability is 2^−bits; when it is in the top 5, the same number.
                if let hit = step.top.first(where: { $0.character == step.next }) {
                    XCTAssertEqual(hit.probability, exp2(-step.surprisalBits), accuracy: 1e-12)
                }
            }
        }
    }

    /// The trace's top layer is the stack's whole-sequence output for the embedded text, bit for bit.
    func testTraceIsTheWholeSequenceForward() throws {
        let text = generatedText(120)
        for kind in [CellKind.lstm, .lngru] {
            let m = try model(kind, text: text)
            let ids = try m.configuration.vocabulary.encode(text)
            let explanation = try m.explain(ids)
            let (stack, t, e) = (m.model.stack, ids.count - 1, m.configuration.embeddingSize)
            let table = m.arena.value(m.model.embedding!.weight)
            let x = (0..<t).flatMap { i in (0..<e).map { table[Int(ids[i]) * e + $0] } }
            var y = [Float](repeating: 0, count: t * stack.outputSize)
            var rng = SeededGenerator(seed: 0)
            stack.forward(input: x, batch: 1, steps: t, initialState: nil, output: &y, finalState: nil, rng: &rng,
                          workspace: RecurrentStackWorkspace(), arena: m.arena)
            let o = stack.outputSize
            for step in 0..<t {
                XCTAssertEqual(Array(explanation.trace.hidden(step: step, layer: stack.layers - 1)),
                               Array(y[(step * o)..<((step + 1) * o)]), "\(kind) step \(step)")
            }
        }
    }

    func testMaxStepsBoundsTheSteps() throws {
        let text = generatedText(300)
        let m = try model(.gru, text: text)
        let ids = try m.configuration.vocabulary.encode(text)
        let explanation = try m.explain(ids, maxSteps: 40)
        XCTAssertEqual(explanation.steps.count, 40)
        XCTAssertEqual(explanation.trace.steps, 40)
        XCTAssertTrue(explanation.truncated)
        XCTAssertEqual(explanation.characters, 300)
        XCTAssertEqual(explanation.maxSteps, 40)
        XCTAssertThrowsError(try m.explain(Array(ids.prefix(1)))) { XCTAssertTrue("\($0)".contains("at least 2"), "\($0)") }
        XCTAssertThrowsError(try m.explain(ids, maxSteps: 0))
    }

    /// A forget gate whose bias is huge is open at every step (right-saturated, fraction 1), an
    /// input gate whose bias is hugely negative closed (left-saturated); the others in between.
    func testSaturationOfGatesPinnedByTheirBias() throws {
        let text = generatedText(200)
        let m = try model(.lstm, text: text, layers: 1)
        let h = 8
        let bias = m.arena.value(m.model.stack.cells[0].inputBias!)
        for j in 0..<h { bias[h + j] = 50 }   // f: rows H..<2H, gate order i, f, g, o
        bias[2] = -50                          // i of unit 2
        let explanation = try m.explain(try m.configuration.vocabulary.encode(text))
        let saturation = explanation.layers[0].saturation
        XCTAssertEqual(saturation.map(\.gate), ["i", "f", "o"])
        XCTAssertEqual(saturation[1].right, [Double](repeating: 1, count: h))
        XCTAssertEqual(saturation[1].left, [Double](repeating: 0, count: h))
        XCTAssertEqual(saturation[0].left[2], 1)
        XCTAssertEqual(saturation[0].right[2], 0)
        XCTAssertTrue(saturation[0].left.enumerated().allSatisfy { $0.offset == 2 || $0.element < 1 })
    }

    func testSaturationFractionsByHand() {
        // Two units over four steps: unit 0 at 0.05, 0.5, 0.95, 0.95; unit 1 at 0.1, 0.9, 0.0, 1.0 (the bounds are strict).
        let values: [Float] = [0.05, 0.1, 0.5, 0.9, 0.95, 0.0, 0.95, 1.0]
        let (left, right) = UnitStatistics.saturation(values, steps: 4, stride: 2, width: 2)
        XCTAssertEqual(left, [0.25, 0.25])
        XCTAssertEqual(right, [0.5, 0.25])
    }

    func testTextFeatures() {
        let text = Array("ab\n\"c\" (d[e])\n".unicodeScalars)
        XCTAssertEqual(TextFeature.positionInLine.values(text), [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(Double.init))
        XCTAssertEqual(TextFeature.insideQuotes.values(text), [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0].map(Double.init))
        XCTAssertEqual(TextFeature.insideBrackets.values(text), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0].map(Double.init))
    }

    func testCorrelationAndAutocorrelation() throws {
        XCTAssertEqual(try XCTUnwrap(UnitStatistics.correlation([1, 2, 3, 4], [2, 4, 6, 8])), 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(UnitStatistics.correlation([1, 2, 3, 4], [8, 6, 4, 2])), -1, accuracy: 1e-12)
        XCTAssertNil(UnitStatistics.correlation([1, 1, 1], [1, 2, 3]))
        XCTAssertEqual(try XCTUnwrap(UnitStatistics.autocorrelation([1, -1, 1, -1, 1, -1])), -1, accuracy: 1e-12)
        XCTAssertEqual(UnitStatistics.rank([0.2, nil, -0.9, 0.5], top: 2), [.init(unit: 2, value: -0.9), .init(unit: 3, value: 0.5)])
    }

    /// Units planted in a trace: one equal to the position in the line, one on inside quotes, one
    /// on inside brackets (negated), one slowly drifting; the rest noise. Each ranking finds its unit first.
    func testRankingFindsPlantedUnits() throws {
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: .rnnTanh, inputSize: 2, hiddenSize: 6, layers: 1, layout: &layout)
        let text = Array(generatedText(400).unicodeScalars) + Array("\"said (he)\" and (she \"too\")\n".unicodeScalars)
        let t = text.count
        let (position, quotes, brackets) = (TextFeature.positionInLine.values(text), TextFeature.insideQuotes.values(text),
                                            TextFeature.insideBrackets.values(text))
        var rng = SeededGenerator(seed: 9)
        var trace = RecurrentTrace(stack: stack)
        var state = RecurrentState(stack: stack, batch: 1)
        let gates = [Float](repeating: 0, count: stack.gateValueCount)
        var drift: Float = 0
        for i in 0..<t {
            drift = 0.99 * drift + 0.1 * (rng.nextUniform() - 0.5)
            let noise = (0..<6).map { _ in rng.nextUniform() - 0.5 }
            state.values = [noise[0], Float(position[i]) / 40, noise[2], Float(quotes[i]) + 0.1 * noise[3],
                            -Float(brackets[i]) + 0.1 * noise[4], 5 * drift]
            trace.append(state: state, gates: gates)
        }
        let features = TextFeature.allCases.map { ($0.rawValue, $0.values(text)) }
        let layer = CharLanguageModel.summarise(trace, layer: 0, steps: t, features: features, topUnits: 3)
        XCTAssertEqual(layer.rankings.map(\.feature), ["position_in_line", "inside_quotes", "inside_brackets", "autocorrelation"])
        XCTAssertEqual(layer.rankings[0].units[0].unit, 1)
        XCTAssertEqual(layer.rankings[0].units[0].value, 1, accuracy: 1e-6)
        XCTAssertEqual(layer.rankings[1].units[0].unit, 3)
        XCTAssertEqual(layer.rankings[2].units[0].unit, 4)
        XCTAssertLessThan(layer.rankings[2].units[0].value, -0.9)
        XCTAssertEqual(layer.rankings[3].units[0].unit, 5)
        XCTAssertEqual(layer.rankings[0].units.count, 3)
        XCTAssertEqual(layer.saturation, [])   // tanh: no σ gates
    }

    /// The JSON parses and carries the fields the README lists.
    func testJSON() throws {
        let text = generatedText(150)
        let m = try model(.lstm, text: text)
        let explanation = try m.explain(try m.configuration.vocabulary.encode(text), maxSteps: 60)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(explanation.json().utf8)) as? [String: Any])
        for key in ["model", "characters", "max_steps", "steps_shown", "truncated", "mean_surprisal_bits", "nats_per_char",
                    "gates", "saturation_thresholds", "steps", "layers"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["steps_shown"] as? Int, 60)
        XCTAssertEqual(object["truncated"] as? Bool, true)
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 2)
        let states = try XCTUnwrap(layers[1]["states"] as? [[Double]])
        XCTAssertEqual(states.count, 60)
        XCTAssertEqual(states[59].map(Float.init), Array(explanation.trace.hidden(step: 59, layer: 1)))
    }

    /// The report's data block: the characters shown, the surprisal, and h_t within half a
    /// quantisation step (s / 254) of the trace, for a bounded cell and an unbounded one (ReLU).
    func testReportDataQuantisesTheStates() throws {
        let text = generatedText(120)
        for kind in [CellKind.lstm, .rnnRelu] {
            let m = try model(kind, text: text)
            let explanation = try m.explain(try m.configuration.vocabulary.encode(text), maxSteps: 50)
            let report = ExplanationReport(explanation, checkpoint: "c", text: "t", heatMapSteps: 20)
            let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.data().utf8)) as? [String: Any])
            XCTAssertEqual(data["text"] as? String, String(text.unicodeScalars.prefix(51)))
            XCTAssertEqual(data["heat_steps"] as? Int, 20)
            let bits = try XCTUnwrap(data["bits"] as? [Double])
            for (b, step) in zip(bits, explanation.steps) { XCTAssertEqual(b, step.surprisalBits, accuracy: 1e-3 * step.surprisalBits) }
            let o = explanation.trace.outputSize
            for (l, layer) in try XCTUnwrap(data["layers"] as? [[String: Any]]).enumerated() {
                let scale = try XCTUnwrap(layer["scale"] as? Double)
                let q = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(layer["states"] as? String)))
                XCTAssertEqual(q.count, 50 * o)
                var largest = 0.0
                for t in 0..<50 {
                    for (j, h) in explanation.trace.hidden(step: t, layer: l).enumerated() {
                        largest = max(largest, abs(Double(h)))
                        let v = Double(Int8(bitPattern: q[t * o + j])) / 127 * scale
                        XCTAssertEqual(v, Double(h), accuracy: scale / 254 + 1e-6, "\(kind) layer \(l) step \(t) unit \(j)")
                    }
                }
                XCTAssertEqual(scale, max(1, largest), accuracy: 1e-6)
            }
        }
    }

    func testHTMLEscape() {
        XCTAssertEqual(ExplanationReport.escape("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;")
        XCTAssertEqual(ExplanationReport.scriptSafe(JSONText.string("</script>&")), "\"\\u003c/script\\u003e\\u0026\"")
    }
}
