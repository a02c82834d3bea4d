import Foundation

/// How the learning rate moves during a run. The trainer sets the optimiser's rate before
/// every step from the base rate lr₀, the step s (0-based) and the run's length S.
public enum LearningRateSchedule: Sendable, Equatable {
    /// lr₀ throughout.
    case constant
    /// lr₀·γ^⌊s / every⌋: multiplied by γ every `every` steps; `every` 0 means once an epoch
    /// (PyTorch's StepLR with step_size 1, stepped per epoch).
    case stepDecay(every: Int, gamma: Float)
    /// A linear warm-up from lr₀/w to lr₀ over the first w steps, then a half cosine from lr₀
    /// down to `minimum`·lr₀ at the last step (SGDR without restarts).
    case cosine(warmup: Int, minimum: Float)
    /// lr₀, multiplied by `factor` after every `patience` evaluations without improvement of
    /// the monitored value (Keras's ReduceLROnPlateau). The factor is the trainer's state.
    case plateau(factor: Float, patience: Int)

    /// The rate of step `step` before any plateau factor.
    public func rate(base: Float, step: Int, totalSteps: Int, stepsPerEpoch: Int = 1) -> Float {
        switch self {
        case .constant, .plateau:
            return base
        case .stepDecay(let every, let gamma):
            return base * Float(pow(Double(gamma), Double(step / (every == 0 ? max(1, stepsPerEpoch) : every))))
        case .cosine(let warmup, let minimum):
            if step < warmup { return base * Float(step + 1) / Float(warmup) }
            let progress = Double(step - warmup) / Double(max(1, totalSteps - 1 - warmup))
            return base * (minimum + (1 - minimum) * Float(0.5 * (1 + cos(Double.pi * min(progress, 1)))))
        }
    }

    /// - Throws: `RecurrentError.invalidArgument` for a period, factor or warm-up out of range.
    public func validate() throws {
        switch self {
        case .constant: break
        case .stepDecay(let every, let gamma):
            try require(every >= 0, .invalidArgument(name: "lr-step", value: "\(every)", expected: "0 (once an epoch) or more steps"))
            try require(gamma > 0 && gamma <= 1, .invalidArgument(name: "lr-decay", value: "\(gamma)", expected: "0 < d <= 1"))
        case .cosine(let warmup, let minimum):
            try require(warmup >= 0, .invalidArgument(name: "warmup", value: "\(warmup)", expected: "0 or more steps"))
            try require(minimum >= 0 && minimum < 1, .invalidArgument(name: "lr-min", value: "\(minimum)", expected: "0 <= m < 1"))
        case .plateau(let factor, let patience):
            try require(factor > 0 && factor < 1, .invalidArgument(name: "lr-factor", value: "\(factor)", expected: "0 < f < 1"))
            try require(patience >= 1, .invalidArgument(name: "lr-patience", value: "\(patience)", expected: "at least 1"))
        }
    }

    /// The schedule as a short JSON object, for the training state and metrics.
    public var json: String {
        switch self {
        case .constant: return "{\"kind\": \"constant\"}"
        case .stepDecay(let every, let gamma): return "{\"kind\": \"step\", \"every\": \(every), \"gamma\": \(Double(gamma))}"
        case .cosine(let warmup, let minimum): return "{\"kind\": \"cosine\", \"warmup\": \(warmup), \"minimum\": \(Double(minimum))}"
        case .plateau(let factor, let patience):
            return "{\"kind\": \"plateau\", \"factor\": \(Double(factor)), \"patience\": \(patience)}"
        }
    }

    /// Parses `json` (nil: an old checkpoint without a schedule, which ran at a constant rate).
    public init(json object: [String: Any]?) throws {
        guard let object else { self = .constant; return }
        func number(_ key: String) throws -> Double {
            guard let v = object[key] as? Double else {
                throw RecurrentError.invalidArgument(name: "schedule", value: "\(object)", expected: "a \"\(key)\" number")
            }
            return v
        }
        switch object["kind"] as? String {
        case "constant": self = .constant
        case "step": self = .stepDecay(every: Int(try number("every")), gamma: Float(try number("gamma")))
        case "cosine": self = .cosine(warmup: Int(try number("warmup")), minimum: Float(try number("minimum")))
        case "plateau": self = .plateau(factor: Float(try number("factor")), patience: Int(try number("patience")))
        default: throw RecurrentError.invalidArgument(name: "schedule", value: "\(object)", expected: "constant, step, cosine or plateau")
        }
    }
}
