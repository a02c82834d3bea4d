import Recurrent

/// Draws a character model's next token from its logits: temperature, top-k, softmax, one
/// uniform number from a seeded generator per token. `CharLanguageModel.sample` and every stream
/// of the `GenerationEngine` draw through it, so the same seed gives the same text in both.
struct TokenSampler {
    let temperature: Float
    let topK: Int?
    private(set) var rng: SeededGenerator
    private var probabilities: [Float]
    private var order: [Int]

    /// - Parameters:
    ///   - vocabulary: V, the logits' width.
    ///   - temperature: logits are divided by it (> 0).
    ///   - topK: sample among the K most likely tokens only (nil: all).
    init(vocabulary v: Int, temperature: Float, topK: Int?, seed: UInt64) {
        self.temperature = temperature
        self.topK = topK
        rng = SeededGenerator(seed: seed)
        probabilities = [Float](repeating: 0, count: v)
        order = Array(0..<v)
    }

    /// The next token drawn from `logits` (V), which it overwrites; nil when the probabilities are
    /// not finite (finite weights can still overflow Float32 on the way to the logits).
    mutating func next(_ logits: UnsafeMutablePointer<Float>) -> Int32? {
        let v = probabilities.count
        for j in 0..<v { logits[j] /= temperature }
        if let topK, topK < v {
            // Keep the K largest logits (ties broken by id, so the same seed gives the same text).
            order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            for j in order[topK...] { logits[j] = -.infinity }
        }
        Softmax.row(logits, count: v, into: &probabilities)
        // Inverse CDF; rounding can leave u ≥ 0 at the end: then the last possible token.
        var u = rng.nextUniform()
        var next = -1
        for j in 0..<v where probabilities[j] > 0 {
            next = j
            u -= probabilities[j]
            if u < 0 { break }
        }
        return next >= 0 ? Int32(next) : nil
    }

    /// The error for logits that gave no finite probabilities at generated token `index` (1-based).
    static func notFinite(at index: Int) -> RecurrentError {
        .invalidArgument(name: "model output for character \(index)", value: "not finite",
                         expected: "finite probabilities; the checkpoint's weights are too large (they overflow Float32)")
    }
}
