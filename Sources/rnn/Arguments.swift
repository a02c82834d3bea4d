import ArgumentParser
import Recurrent
import RecurrentApps

// The library's enums as typed command-line values: a bad value is refused by the parser with
// the list of valid ones, and `run()` never force-unwraps a string.

extension CellKind: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    public static var allValueStrings: [String] { CellKind.registered.map(\.displayName) }
}

extension OptimizerKind: ExpressibleByArgument {}
extension GEMM.MatmulPrecision: ExpressibleByArgument {}

extension InferencePrecision: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}
extension SequenceTaskKind: ExpressibleByArgument {}
extension Tokenization: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
extension OnError: ExpressibleByArgument {}
extension LongRangeTask: ExpressibleByArgument {}
extension RecurrentInitialization: ExpressibleByArgument {}
extension AttentionKind: ExpressibleByArgument {}
extension ExampleData: ExpressibleByArgument {}
extension ForecastFormat: ExpressibleByArgument {}

/// Which learning-rate schedule `--lr-schedule` names.
enum ScheduleKind: String, ExpressibleByArgument, CaseIterable {
    case constant, step, cosine, plateau
}

/// A whole number that must be at least `minimum`: "invalid epochs '-1': expected at least 1"
/// rather than the parser's "Missing value" for a value that starts with a minus sign.
func atLeast(_ minimum: Int, _ name: String) -> @Sendable (String) throws -> Int {
    { text in
        guard let v = Int(text), v >= minimum else {
            throw ValidationError("invalid \(name) '\(text)': expected a whole number of at least \(minimum)")
        }
        return v
    }
}

/// A number: "invalid dropout 'x': expected a number" rather than the parser's words;
/// its range is the library's to check.
func number(_ name: String, expected: String) -> @Sendable (String) throws -> Float {
    { text in
        guard let v = Float(text) else { throw ValidationError("invalid \(name) '\(text)': expected \(expected)") }
        return v
    }
}

/// For a `--resume DIR` run: `--out`, when given, must be DIR, and none of the flags the run
/// fixed may be given.
func checkResume(_ resume: String, out: String?, fixed flags: [(String, Bool)]) throws {
    if let out, out != resume {
        throw ValidationError("--out '\(out)' differs from --resume '\(resume)': a resumed run writes into its own folder")
    }
    if let flag = flags.first(where: \.1)?.0 {
        throw ValidationError("\(flag) is fixed by the run in \(resume); resume without it, or start a new run with --out")
    }
}

/// The registered cells' names, for help texts: "lstm, gru, rnn, rnn_relu, …".
let cellNames = CellKind.registered.map(\.displayName).joined(separator: ", ")

/// The model's shape, shared by `train` and `fit`.
struct ModelOptions: ParsableArguments {
    @Option(help: "The recurrent cell (default: lstm).")
    var cell: CellKind?

    @Option(parsing: .unconditional, help: "Hidden units per layer (default: 128).", transform: atLeast(1, "hidden"))
    var hidden: Int?

    @Option(parsing: .unconditional, help: "lstm only: project h to this many values, below --hidden (PyTorch's proj_size; default: none).",
            transform: atLeast(1, "proj-size"))
    var projSize: Int?

    @Option(parsing: .unconditional, help: "Recurrent layers (default: 2 for train, 1 for fit).", transform: atLeast(1, "layers"))
    var layers: Int?

    @Option(parsing: .unconditional, help: "Embedding size (default: the hidden size for train, 64 for fit).", transform: atLeast(1, "embedding"))
    var embedding: Int?

    @Option(parsing: .unconditional, help: "Dropout between layers (default: 0).",
            transform: number("dropout", expected: "a number 0 <= p < 1"))
    var dropout: Float?

    @Option(parsing: .unconditional,
            help: "Dropout on the top layer's output before the output layer, as char-rnn does (default: 0; fit: classify, regress and tag only).",
            transform: number("output-dropout", expected: "a number 0 <= p < 1"))
    var outputDropout: Float?

    @Option(parsing: .unconditional,
            help: "DropConnect on the recurrent weights W_hh, AWD-LSTM's weight drop: each batch keeps each weight with probability 1 - p, in training only (default: 0; fit: classify, regress and tag only).",
            transform: number("weight-drop", expected: "a number 0 <= p < 1"))
    var weightDrop: Float?

    /// Each flag and whether it was given: a resumed run keeps its model, so each is refused then.
    var given: [(String, Bool)] {
        [("--cell", cell != nil), ("--hidden", hidden != nil), ("--proj-size", projSize != nil), ("--layers", layers != nil),
         ("--embedding", embedding != nil), ("--dropout", dropout != nil), ("--output-dropout", outputDropout != nil),
         ("--weight-drop", weightDrop != nil)]
    }
}

/// How to optimise, shared by `train` and `fit`: the same flags mean the same thing in both.
struct OptimizationOptions: ParsableArguments {
    @Option(help: "The optimiser (default: adam; adamw: Adam with decoupled weight decay 0.01, PyTorch's AdamW).")
    var optimizer: OptimizerKind?

    @Option(parsing: .unconditional, help: "Learning rate (default: 2e-3).")
    var lr: Float?

    @Option(help: "Learning-rate schedule: constant, step (× --lr-decay every --lr-step steps), cosine (warm-up, then a half cosine to --lr-min × lr) or plateau (× --lr-factor after --lr-patience evaluations without improvement). Default: step when --lr-decay is given, else constant for train and plateau (× 0.5 after 2) for fit.")
    var lrSchedule: ScheduleKind?

    @Option(parsing: .unconditional, help: "step schedule: multiply the rate by this (default 0.5; fit: 1, constant).")
    var lrDecay: Float?

    @Option(parsing: .unconditional, help: "step schedule: steps between decays (default: one epoch).", transform: atLeast(0, "lr-step"))
    var lrStep: Int = 0

    @Option(parsing: .unconditional, help: "cosine schedule: warm-up steps (default: 0).", transform: atLeast(0, "warmup"))
    var warmup: Int = 0

    @Option(parsing: .unconditional, help: "cosine schedule: the last rate as a fraction of --lr.")
    var lrMin: Float = 0

    @Option(parsing: .unconditional, help: "plateau schedule: multiply the rate by this.")
    var lrFactor: Float = 0.5

    @Option(parsing: .unconditional, help: "plateau schedule: evaluations without improvement before each cut (default: 2).",
            transform: atLeast(1, "lr-patience"))
    var lrPatience: Int = 2

    @Option(parsing: .unconditional, help: "Global gradient-norm clip (0: off; default 5).")
    var clip: Float?

    @Option(parsing: .unconditional, help: "Stop after this many evaluations without a better validation value; 0: never (default: never for train, 5 for fit).",
            transform: atLeast(0, "patience"))
    var patience: Int?

    @Option(parsing: .unconditional,
            help: "Evaluate and save an exponential moving average of the weights with this decay, e.g. 0.999 (PyTorch's AveragedModel, Keras's use_ema; default: none).",
            transform: number("ema", expected: "a number 0 < d < 1"))
    var ema: Float?

    @Option(help: "Precision of the training steps' matrix products: fp32, or bf16 (operands rounded to bfloat16, summed in float32; PyTorch's set_float32_matmul_precision(\"medium\")). Weights, optimiser and evaluations stay float32 (default: fp32).")
    var matmulPrecision: GEMM.MatmulPrecision?

    /// Where bf16 products would run slower than float32 ones — without AVX-512 BF16 (in portable
    /// C), or on a CPU whose VDPBF16PS runs below its FMAs' rate — says so on stderr: a run's
    /// precision may come from the flag or from the run it resumes.
    static func noteMatmulPrecision(_ precision: GEMM.MatmulPrecision) {
        guard precision == .bf16 else { return }
        guard GEMM.bf16IsNative else {
            warn("this CPU has no AVX-512 BF16: --matmul-precision bf16 runs its products in portable C, slower than fp32")
            return
        }
        let ceiling = GEMM.productCeilings()
        guard ceiling.bf16 < ceiling.fp32 else { return }
        warn("this CPU's bf16 dot products reach \(Int(ceiling.bf16)) GFLOP/s against \(Int(ceiling.fp32)) for fp32 FMAs: --matmul-precision bf16 is slower than fp32 here")
    }

    /// The schedule the flags describe; nil when none is given.
    func schedule() throws -> LearningRateSchedule? {
        let kind = lrSchedule ?? (lrDecay != nil ? .step : nil)
        let s: LearningRateSchedule?
        switch kind {
        case nil: s = nil
        case .constant: s = .constant
        case .step: s = .stepDecay(every: lrStep, gamma: lrDecay ?? 0.5)
        case .cosine: s = .cosine(warmup: warmup, minimum: lrMin)
        case .plateau: s = .plateau(factor: lrFactor, patience: lrPatience)
        }
        do { try s?.validate() } catch { throw ValidationError("\(error)") }
        return s
    }

    /// The flags a resumed run cannot change, and whether each was given.
    var fixedByTheRun: [(String, Bool)] {
        [("--optimizer", optimizer != nil), ("--lr-schedule/--lr-decay", lrSchedule != nil || lrDecay != nil),
         ("--clip", clip != nil), ("--patience", patience != nil), ("--ema", ema != nil),
         ("--matmul-precision", matmulPrecision != nil)]
    }
}

/// `--attention`: seq2seq's attention, or none.
enum AttentionChoice: String, ExpressibleByArgument, CaseIterable {
    case none, dot, general, additive
    /// The kind's name as a spec stores it; nil for none.
    var kind: String? { self == .none ? nil : rawValue }
}

/// `--monitor`: the validation value that picks the best checkpoint.
enum MonitorChoice: String, ExpressibleByArgument, CaseIterable {
    case loss, accuracy
    var monitor: Monitor { self == .loss ? .loss : .metric("accuracy") }
}

/// What `predict` and `evaluate` share: the checkpoint, the data, the beam, and bad lines.
struct PredictionOptions: ParsableArguments {
    @Option(help: "A checkpoint written by rnn fit.")
    var checkpoint: String

    @Option(help: "Examples (JSON Lines); for evaluate, with their targets.")
    var data: String

    @Option(parsing: .unconditional, help: "Beam width for sequence outputs (1: greedy).")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: OnError = .stop

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
    }
}
