import Foundation

/// The sizes and options of a `Seq2SeqModel`.
///
/// Exactly one source kind: `sourceVocabulary` for token sources (translation-like, "many to
/// many"), or `sourceFeatures` for one feature vector of F numbers per example (captioning,
/// "one to many": no encoder RNN and no attention).
public struct Seq2SeqConfiguration: Sendable, Equatable {
    public var cell: CellKind
    /// Vs: source token ids are below this.
    public var sourceVocabulary: Int?
    /// F: numbers per example of a feature source.
    public var sourceFeatures: Int?
    /// Vt: target token ids (including BOS and EOS) are below this.
    public var targetVocabulary: Int
    /// E: width of both embeddings.
    public var embeddingSize: Int
    /// H: the encoder's hidden size per direction.
    public var hiddenSize: Int
    /// L: layers of the encoder and of the decoder.
    public var layers: Int
    public var bidirectionalEncoder: Bool
    /// The attention score; nil for none (the decoder sees the source only through its
    /// initial state).
    public var attention: AttentionKind?
    /// Dropout probability between stacked layers and on the head's input, in training only.
    public var dropout: Float

    /// A configuration; `validate()` checks it before a model is built.
    public init(cell: CellKind = .lstm, sourceVocabulary: Int? = nil, sourceFeatures: Int? = nil,
                targetVocabulary: Int, embeddingSize: Int, hiddenSize: Int, layers: Int = 1,
                bidirectionalEncoder: Bool = false, attention: AttentionKind? = nil, dropout: Float = 0) {
        self.cell = cell
        self.sourceVocabulary = sourceVocabulary
        self.sourceFeatures = sourceFeatures
        self.targetVocabulary = targetVocabulary
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectionalEncoder = bidirectionalEncoder
        self.attention = attention
        self.dropout = dropout
    }

    /// True for a feature ("caption") source.
    public var isCaption: Bool { sourceFeatures != nil }
    /// dirs: 2 for a bidirectional encoder, else 1.
    public var encoderDirections: Int { bidirectionalEncoder ? 2 : 1 }
    /// Hd = dirs·H: the decoder's hidden size, so a bidirectional encoder's states fit it.
    public var decoderHiddenSize: Int { encoderDirections * hiddenSize }

    /// Checks the combination of options.
    /// - Throws: `RecurrentError.invalidArgument` saying which option to change.
    public func validate() throws {
        switch (sourceVocabulary, sourceFeatures) {
        case let (v?, nil):
            try require(v >= 1, .invalidArgument(name: "source vocabulary", value: "\(v)", expected: "at least 1"))
        case let (nil, f?):
            try require(f >= 1, .invalidArgument(name: "source features", value: "\(f)", expected: "at least 1"))
            try require(attention == nil, .invalidArgument(
                name: "attention", value: attention?.rawValue ?? "",
                expected: "none with sourceFeatures: a feature source has no encoder steps to attend to"))
            try require(!bidirectionalEncoder, .invalidArgument(
                name: "bidirectionalEncoder", value: "true",
                expected: "false with sourceFeatures: a feature source has no encoder RNN"))
        default:
            throw RecurrentError.invalidArgument(
                name: "source", value: "sourceVocabulary \(sourceVocabulary.map(String.init) ?? "nil"), "
                    + "sourceFeatures \(sourceFeatures.map(String.init) ?? "nil")",
                expected: "exactly one of sourceVocabulary (tokens) or sourceFeatures (one vector per example)")
        }
        try require(targetVocabulary >= 1, .invalidArgument(name: "target vocabulary", value: "\(targetVocabulary)",
                                                            expected: "at least 1"))
        try require(embeddingSize >= 1, .invalidArgument(name: "embedding size", value: "\(embeddingSize)",
                                                         expected: "at least 1"))
    }
}
