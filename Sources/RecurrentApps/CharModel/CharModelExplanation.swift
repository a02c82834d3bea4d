import Foundation
import Recurrent

/// What a character model does over a text, step by step — the data of `rnn explain`: per
/// step the character read, the surprisal of the next one and the model's top predictions; per
/// layer how often each σ gate unit is saturated and which hidden units follow simple features
/// of the text (Karpathy, Johnson & Fei-Fei 2015). The full per-step hidden states and gate
/// activations are in `trace`.
///
/// Step t reads character t of the text and predicts character t + 1: T = min(N − 1, maxSteps)
/// steps for a text of N characters, from a zero state, through the batch-1 steps `rnn sample`
/// runs (fp32). Over a whole text (T = N − 1) the mean surprisal × ln 2 is `rnn score`'s nats/char.
public struct CharModelExplanation: Sendable {
    /// One of the model's guesses for the next character.
    public struct Prediction: Sendable, Equatable {
        public let character: Unicode.Scalar
        public let probability: Double
    }

    /// One step: the character read, the one that came next, and what the model expected.
    public struct Step: Sendable, Equatable {
        /// The character read at this step.
        public let character: Unicode.Scalar
        /// The text's next character, the one predicted.
        public let next: Unicode.Scalar
        /// −log₂ p(next): bits of surprise.
        public let surprisalBits: Double
        /// The most likely next characters, most likely first (ties by vocabulary order).
        public let top: [Prediction]
    }

    /// Per unit of one σ gate: the fractions of steps left-saturated (< 0.1) and right-saturated (> 0.9).
    public struct GateSaturation: Sendable, Equatable {
        public let gate: String
        public let left: [Double]
        public let right: [Double]
    }

    /// The hidden units whose h_t[j] correlates most with one feature (Pearson's r over the
    /// steps, largest |r| first), or, for `autocorrelation`, with itself one step later.
    public struct UnitRanking: Sendable, Equatable {
        /// A `TextFeature` raw value, or "autocorrelation".
        public let feature: String
        public let units: [UnitStatistics.RankedUnit]
    }

    /// One layer's summaries.
    public struct Layer: Sendable, Equatable {
        /// For the cell's σ gates only (`CellGate.Activation.sigmoid`), in the cell's order.
        public let saturation: [GateSaturation]
        /// One per `TextFeature`, then the autocorrelation.
        public let rankings: [UnitRanking]
    }

    public let configuration: CharModelConfiguration
    /// N: the text's length in characters.
    public let characters: Int
    /// The bound on steps asked for.
    public let maxSteps: Int
    public let steps: [Step]
    /// h_t and the gate activations of every step and layer.
    public let trace: RecurrentTrace
    public let layers: [Layer]

    /// Whether the bound cut the text short (fewer than N − 1 steps).
    public var truncated: Bool { steps.count < characters - 1 }
    /// The mean of the steps' surprisal, in bits per character.
    public var meanSurprisalBits: Double { steps.reduce(0) { $0 + $1.surprisalBits } / Double(max(steps.count, 1)) }
}

extension CharLanguageModel {
    /// Reads `ids` one character at a time and explains what the model does (`CharModelExplanation`).
    /// - Parameters:
    ///   - maxSteps: at most this many steps (the first characters of a longer text).
    ///   - topUnits: units kept per ranking.
    ///   - topPredictions: predictions kept per step.
    /// - Throws: `RecurrentError.invalidArgument` for fewer than 2 characters or a bound below 1,
    ///   or when the weights overflow Float32 on this text (the probabilities are not finite).
    public func explain(_ ids: [Int32], maxSteps: Int = 2000, topUnits: Int = 10,
                        topPredictions: Int = 5) throws -> CharModelExplanation {
        guard ids.count >= 2 else {
            throw RecurrentError.invalidArgument(name: "text", value: "\(ids.count) character", expected: "at least 2 characters")
        }
        guard maxSteps >= 1 else {
            throw RecurrentError.invalidArgument(name: "max steps", value: "\(maxSteps)", expected: "at least 1")
        }
        let vocab = configuration.vocabulary
        let v = vocab.count, stack = model.stack
        let t = min(ids.count - 1, maxSteps)
        let stepper = try TokenStepper(self, precision: .fp32)
        var trace = RecurrentTrace(stack: stack)
        var gates = [Float](repeating: 0, count: stack.layers * stack.gateValueCount)
        var steps: [CharModelExplanation.Step] = []
        steps.reserveCapacity(t)
        var order = Array(0..<v)
        for i in 0..<t {
            try gates.withUnsafeMutableBufferPointer { try stepper.step(ids[i], gates: $0.baseAddress!) }
            trace.append(state: stepper.state, gates: gates)
            // log softmax in Double: log p_j = z_j − max − log Σ e^{z_k − max}.
            let z = stepper.logits
            var m = -Float.infinity
            for j in 0..<v { m = max(m, z[j]) }
            var sum = 0.0
            for j in 0..<v { sum += Foundation.exp(Double(z[j] - m)) }
            let logSum = Double(m) + Foundation.log(sum)
            let target = Int(ids[i + 1])
            let bits = (logSum - Double(z[target])) / M_LN2
            guard bits.isFinite else {
                throw RecurrentError.invalidArgument(name: "model output at step \(i)", value: "not finite",
                                                     expected: "finite probabilities; the checkpoint's weights are too large (they overflow Float32)")
            }
            order.sort { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
            let top = order.prefix(topPredictions).map {
                CharModelExplanation.Prediction(character: vocab.symbol(Int32($0)), probability: Foundation.exp(Double(z[$0]) - logSum))
            }
            steps.append(.init(character: vocab.symbol(ids[i]), next: vocab.symbol(ids[i + 1]), surprisalBits: bits, top: top))
        }
        let features = TextFeature.allCases.map { ($0.rawValue, $0.values(ids.prefix(t).map(vocab.symbol))) }
        let layers = (0..<stack.layers).map { l in
            Self.summarise(trace, layer: l, steps: t, features: features, topUnits: topUnits)
        }
        return CharModelExplanation(configuration: configuration, characters: ids.count, maxSteps: maxSteps, steps: steps,
                                    trace: trace, layers: layers)
    }

    /// Layer `l`'s gate saturation and unit rankings from the trace.
    static func summarise(_ trace: RecurrentTrace, layer l: Int, steps t: Int, features: [(String, [Double])],
                          topUnits: Int) -> CharModelExplanation.Layer {
        let (lc, g, o) = (trace.layers, trace.gateValueCount, trace.outputSize)
        var saturation: [CharModelExplanation.GateSaturation] = []
        var offset = l * g
        for gate in trace.gates {
            if gate.activation == .sigmoid {
                let (left, right) = UnitStatistics.saturation(trace.gateValues, steps: t, stride: lc * g, offset: offset,
                                                              width: gate.width)
                saturation.append(.init(gate: gate.name, left: left, right: right))
            }
            offset += gate.width
        }
        let series = (0..<o).map { UnitStatistics.series(trace.hidden, steps: t, stride: lc * o, unit: l * o + $0) }
        var rankings = features.map { name, values in
            CharModelExplanation.UnitRanking(feature: name, units: UnitStatistics.rank(series.map {
                UnitStatistics.correlation($0, values)
            }, top: topUnits))
        }
        rankings.append(.init(feature: "autocorrelation",
                              units: UnitStatistics.rank(series.map(UnitStatistics.autocorrelation), top: topUnits)))
        return CharModelExplanation.Layer(saturation: saturation, rankings: rankings)
    }
}

extension CharModelExplanation {
    /// The explanation as one JSON object (keys in a fixed order; the schema is in the README,
    /// "Looking inside a model"). `states` adds every layer's h_t per step ((T, O) per layer);
    /// the per-step gate activations stay in `trace`.
    /// - Parameter source: leading fields, already JSON (the checkpoint's and text's paths).
    public func json(source: [(String, String)] = [], states: Bool = true) -> String {
        typealias J = JSONText
        func short(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }
        func char(_ c: Unicode.Scalar) -> String { J.string(String(c)) }
        let model = J.object([("cell", J.string(configuration.cell.rawValue)), ("layers", "\(configuration.layers)"),
                              ("hidden_size", "\(configuration.hiddenSize)"), ("output_size", "\(trace.outputSize)"),
                              ("vocab_size", "\(configuration.vocabulary.count)")])
        let gates = J.array(trace.gates.map {
            J.object([("name", J.string($0.name)), ("activation", J.string($0.activation.rawValue)), ("width", "\($0.width)")])
        })
        let stepItems = steps.map { s in
            J.object([("char", char(s.character)), ("next", char(s.next)), ("surprisal_bits", J.number(s.surprisalBits)),
                      ("top", J.array(s.top.map { J.object([("char", char($0.character)), ("p", short($0.probability))]) }))])
        }
        let (lc, o) = (trace.layers, trace.outputSize)
        let layerItems = layers.enumerated().map { l, layer in
            var pairs: [(String, String)] = [("layer", "\(l)")]
            pairs.append(("saturation", J.array(layer.saturation.map {
                J.object([("gate", J.string($0.gate)), ("left", J.array($0.left.map(short))), ("right", J.array($0.right.map(short)))])
            })))
            pairs.append(("units", J.array(layer.rankings.map {
                J.object([("feature", J.string($0.feature)),
                          ("top", J.array($0.units.map { J.object([("unit", "\($0.unit)"), ("value", short($0.value))]) }))])
            })))
            if states {
                pairs.append(("states", J.array((0..<steps.count).map { t in
                    let start = (t * lc + l) * o
                    return J.array(trace.hidden[start..<(start + o)].map { $0.isFinite ? "\($0)" : "null" })
                })))
            }
            return J.object(pairs)
        }
        return J.object(source + [
            ("model", model), ("characters", "\(characters)"), ("max_steps", "\(maxSteps)"), ("steps_shown", "\(steps.count)"),
            ("truncated", truncated ? "true" : "false"), ("mean_surprisal_bits", J.number(meanSurprisalBits)),
            ("nats_per_char", J.number(meanSurprisalBits * M_LN2)), ("gates", gates),
            ("saturation_thresholds", J.object([("left", "\(UnitStatistics.leftSaturation)"),
                                                ("right", "\(UnitStatistics.rightSaturation)")])),
            ("steps", J.array(stepItems)), ("layers", J.array(layerItems)),
        ])
    }
}
