import Foundation
import Recurrent

/// A character-model benchmark case: Embedding(V, H) → stack → Linear(H, V) on B streams of
/// T steps of random tokens.
package struct BenchmarkCase: Sendable, Equatable {
    public let name: String
    public let kind: CellKind
    public let hiddenSize: Int
    public let layers: Int
    public let batch: Int
    public let steps: Int
    public var vocabulary = 65

    public init(name: String? = nil, kind: CellKind, hiddenSize: Int, layers: Int, batch: Int, steps: Int) {
        self.name = name ?? "\(kind.displayName)-\(hiddenSize)x\(layers)-b\(batch)-t\(steps)"
        self.kind = kind
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.batch = batch
        self.steps = steps
    }

    /// The standard cases, as the performance work measures them against PyTorch.
    public static let standard: [BenchmarkCase] = [
        BenchmarkCase(kind: .lstm, hiddenSize: 128, layers: 2, batch: 50, steps: 50),
        BenchmarkCase(kind: .lstm, hiddenSize: 512, layers: 2, batch: 50, steps: 100),
        BenchmarkCase(kind: .gru, hiddenSize: 256, layers: 2, batch: 32, steps: 64),
        BenchmarkCase(kind: .rnnTanh, hiddenSize: 100, layers: 1, batch: 1, steps: 25),
    ]
}

package struct TrainingBenchmarkResult: Sendable {
    public let steps: Int
    public let secondsPerStep: Double
    public let tokensPerSecond: Double
}

/// Times training steps of the one `Trainer` — forward, backward, global-norm clip 5 and Adam —
/// on random tokens, carrying the state from step to step. Runs one untimed warm-up step, then
/// steps until `seconds` have passed (at least `minimumSteps`); reports the median step time.
package func benchmarkTraining(_ c: BenchmarkCase, seconds: Double = 3, minimumSteps: Int = 3, seed: UInt64 = 1,
                              matmulPrecision: GEMM.MatmulPrecision = .fp32) throws -> TrainingBenchmarkResult {
    var layout = ParameterLayout()
    let model = try SequenceModel(input: .tokens(vocabulary: c.vocabulary, embedding: c.hiddenSize), kind: c.kind,
                                  hiddenSize: c.hiddenSize, layers: c.layers, outputs: c.vocabulary, layout: &layout)
    let arena = ParameterArena(layout: layout, seed: seed)
    var rng = SeededGenerator(seed: seed)
    let task = RandomTokenTask(c, model: model, arena: arena, rng: &rng)
    var options = TrainerOptions(totalSteps: .max, evaluateEvery: .max, learningRate: 2e-3)
    options.clip = 5
    options.matmulPrecision = matmulPrecision
    let trainer = Trainer(task: task, optimizer: Adam(arena: arena, learningRate: 2e-3), options: options, rng: rng)
    var times: [Double] = []
    var total = 0.0
    var last: UInt64?
    _ = try trainer.run(shouldStop: { total >= seconds && times.count >= minimumSteps }) { event in
        guard case .step = event else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if let last {   // the first step is the warm-up
            let elapsed = Double(now - last) * 1e-9
            times.append(elapsed)
            total += elapsed
        }
        last = now
    }
    times.sort()
    let median = times[times.count / 2]
    return TrainingBenchmarkResult(steps: times.count, secondsPerStep: median, tokensPerSecond: Double(c.batch * c.steps) / median)
}

/// A benchmark case's training as the trainer sees it: the same B × T random tokens and
/// targets every step, the state carried from step to step.
final class RandomTokenTask: TrainingTask {
    let c: BenchmarkCase
    let model: SequenceModel
    let arena: ParameterArena
    let tokens: [Int32], targets: [Int32]
    private var logits: [Float], dLogits: [Float]
    private var state: [Float], next: [Float]
    private let workspace = SequenceModelWorkspace()
    var stepsPerEpoch: Int { 1 }

    init(_ c: BenchmarkCase, model: SequenceModel, arena: ParameterArena, rng: inout SeededGenerator) {
        self.c = c
        self.model = model
        self.arena = arena
        let (b, t, v) = (c.batch, c.steps, c.vocabulary)
        tokens = (0..<(b * t)).map { _ in Int32(rng.nextInt(below: v)) }
        targets = (0..<(b * t)).map { _ in Int32(rng.nextInt(below: v)) }
        logits = [Float](repeating: 0, count: b * t * v)
        dLogits = logits
        state = [Float](repeating: 0, count: model.stack.stateCount(batch: b))
        next = state
    }

    func batch(step: Int, rng: inout SeededGenerator) {}

    func forward(_: Void, training: Bool, rng: inout SeededGenerator) {
        model.forward(tokens: tokens, batch: c.batch, steps: c.steps, initialState: state, output: &logits,
                      finalState: &next, training: training, rng: &rng, workspace: workspace, arena: arena)
    }

    func loss(_: Void) -> BatchLoss {
        let l = Loss.softmaxCrossEntropy(logits: logits, rows: c.batch * c.steps, classes: c.vocabulary, targets: targets,
                                         gradient: &dLogits).loss
        return BatchLoss(sum: Double(l), count: 1)
    }

    func backward(_: Void) {
        model.backward(tokens: tokens, batch: c.batch, steps: c.steps, outputGradient: dLogits, workspace: workspace,
                       arena: arena)
    }

    func stepTaken(_: Void) { swap(&state, &next) }
    func tokens(in _: Void) -> Int { c.batch * c.steps }
    func evaluate() -> Evaluation? { nil }
}

package struct GenerationBenchmarkResult: Sendable {
    public let tokens: Int
    public let tokensPerSecond: Double
}

/// Times batch-1 generation: one token at a time through the streaming step API, the state
/// carried, sampling from the softmax — `rnn sample`'s loop — with random weights. One
/// untimed warm-up of 50 tokens, then `tokens` timed. `precision` is how the weights are stored
/// while generating (`CharLanguageModel.sample(precision:)`); training is always float32.
package func benchmarkGeneration(_ c: BenchmarkCase, tokens: Int = 2000, seed: UInt64 = 1,
                                precision: InferencePrecision = .fp32) throws -> GenerationBenchmarkResult {
    let symbols = (0..<c.vocabulary).map { String(UnicodeScalar(UInt8(33 + $0 % 90))) }
    let config = CharModelConfiguration(cell: c.kind, vocabulary: try Vocabulary(symbols: symbols), embeddingSize: c.hiddenSize,
                                        hiddenSize: c.hiddenSize, layers: c.layers)
    let model = try CharLanguageModel(configuration: config, seed: seed)
    var count = 0
    try model.sample(length: 50, seed: seed, precision: precision) { _ in count += 1 }
    let start = DispatchTime.now().uptimeNanoseconds
    try model.sample(length: tokens, seed: seed, precision: precision) { _ in count += 1 }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    return GenerationBenchmarkResult(tokens: tokens, tokensPerSecond: Double(tokens) / seconds)
}

package struct JSONLBenchmarkResult: Sendable {
    /// The file's size in bytes.
    public let bytes: Int
    public let examples: Int
    /// The runs made; the fastest is reported.
    public let runs: Int
    /// Seconds of the fastest run.
    public let seconds: Double
    public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    public var examplesPerSecond: Double { Double(examples) / seconds }
}

/// Times `JSONLDataset(contentsOf:)` reading `path` (targets optional, stopping at a bad line),
/// `runs` times; the fastest run is reported, the others having met a cold cache or a busy core.
package func benchmarkJSONL(path: String, runs: Int = 3) throws -> JSONLBenchmarkResult {
    var best = Double.infinity
    var examples = 0
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        let dataset = try JSONLDataset(contentsOf: path, requireTarget: false)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        examples = dataset.examples.count
    }
    // The file has just been read whole, so its size is there to ask for.
    let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return JSONLBenchmarkResult(bytes: bytes, examples: examples, runs: runs, seconds: best)
}

/// The largest resident set this process has had, in MiB. On Linux, VmHWM from
/// /proc/self/status: getrusage's ru_maxrss survives exec, so a child started by a large parent
/// (a Python benchmark script) would report the parent's size.
package func peakResidentMegabytes() -> Double {
    #if os(Linux)
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
        return kilobytes / 1024
    }
    return 0
    #else
    var usage = rusage()
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_048_576     // bytes on Darwin
    #endif
}

/// The forward pass of one recurrent layer over B sequences of T steps with one input feature
/// (DeepBench's RNN kernels: the recurrent part, the input product next to nothing): the median
/// seconds of `runs` passes after a warm-up, and the recurrent products' GFLOP/s (2·P·H·B·T FLOPs
/// a pass, P the projection width).
package func benchmarkRecurrentForward(kind: CellKind, hidden: Int, batch: Int, steps: Int,
                                       runs: Int) throws -> (seconds: Double, gflops: Double) {
    var layout = ParameterLayout()
    let stack = try RecurrentStack(kind: kind, inputSize: 1, hiddenSize: hidden, layout: &layout)
    let arena = ParameterArena(layout: layout, seed: 1)
    var rng = SeededGenerator(seed: 2)
    let x = (0..<(batch * steps)).map { _ in rng.nextUniform(-1, 1) }
    var y = [Float](repeating: 0, count: batch * steps * hidden)
    let ws = RecurrentStackWorkspace()
    var times: [Double] = []
    for run in 0...runs {
        let start = DispatchTime.now().uptimeNanoseconds
        stack.forward(input: x, batch: batch, steps: steps, initialState: nil, output: &y, finalState: nil, rng: &rng,
                      workspace: ws, arena: arena)
        if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9) }
    }
    let median = times.sorted()[times.count / 2]
    let flops = 2 * Double(stack.cells[0].projectionSize * hidden * batch * steps)
    return (median, flops / median * 1e-9)
}
