import Recurrent

/// One text to generate from a character model: what `rnn sample` takes.
public struct GenerationRequest: Sendable, Equatable {
    /// Text read first (a newline when empty); generation continues it.
    public var prime: String
    /// Characters to generate.
    public var length: Int
    /// Logits are divided by it (> 0): lower is more conservative.
    public var temperature: Float
    /// Sample among the K most likely characters only (nil: all).
    public var topK: Int?
    /// The sampler's seed: the same seed gives the same text as `CharLanguageModel.sample`.
    public var seed: UInt64

    public init(prime: String = "", length: Int, temperature: Float = 1, topK: Int? = nil, seed: UInt64 = 1) {
        self.prime = prime
        self.length = length
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
    }
}

/// The bounds a `GenerationEngine` keeps, so that no request can make it allocate without bound.
public struct GenerationLimits: Sendable, Equatable {
    /// Rows of one batched step: streams generating at once.
    public var maxBatch: Int
    /// Streams admitted at once, generating or waiting for a row; one more is refused.
    public var maxStreams: Int
    /// Characters one request may generate.
    public var maxTokens: Int
    /// Characters of one prime.
    public var maxPrime: Int

    public init(maxBatch: Int = 64, maxStreams: Int = 256, maxTokens: Int = 4096, maxPrime: Int = 4096) {
        self.maxBatch = maxBatch
        self.maxStreams = maxStreams
        self.maxTokens = maxTokens
        self.maxPrime = maxPrime
    }

    /// - Throws: `RecurrentError.invalidArgument` for a limit below 1 (or a batch above 4096).
    func validate() throws {
        try require(maxBatch >= 1 && maxBatch <= 4096, .invalidArgument(name: "max batch", value: "\(maxBatch)", expected: "1...4096"))
        for (name, value) in [("max streams", maxStreams), ("max tokens", maxTokens), ("max prime", maxPrime)] {
            try require(value >= 1, .invalidArgument(name: name, value: "\(value)", expected: "at least 1"))
        }
    }
}

/// What the engine did in one batched step, for metrics.
public struct GenerationStepReport: Sendable {
    /// Rows in the step (B).
    public let rows: Int
    /// Characters it generated: rows that had read their whole prime.
    public let tokens: Int
    /// Wall-clock time of the step, sampling included.
    public let seconds: Double
}
