/// Compares analytic gradients with central finite differences,
/// ∂L/∂θ_i ≈ (L(θ + εe_i) − L(θ − εe_i)) / 2ε.
///
/// An entry passes when |analytic − numeric| ≤ absoluteTolerance + relativeTolerance·max(|analytic|, |numeric|).
/// Float32 forward passes limit how small ε can be: the defaults suit losses of order one.
public struct GradientChecker: Sendable {
    /// One compared entry.
    public struct Entry: Sendable, CustomStringConvertible {
        public let name: String
        public let index: Int
        public let analytic: Float
        public let numeric: Float
        public var difference: Float { abs(analytic - numeric) }
        public var description: String {
            "\(name)[\(index)]: analytic \(analytic), numeric \(numeric), difference \(difference)"
        }
    }

    /// The outcome of a check: how many entries were compared, those that failed, the worst.
    public struct Report: Sendable, CustomStringConvertible {
        public var checked = 0
        public var failures: [Entry] = []
        /// The entry with the largest difference relative to its tolerance.
        public var worst: Entry?
        var worstRatio: Float = -1
        public var passed: Bool { failures.isEmpty && checked > 0 }

        /// Adds `other`'s checks to this report (the worst errors and every failure).
        public mutating func merge(_ other: Report) {
            checked += other.checked
            failures += other.failures
            if other.worstRatio > worstRatio { worst = other.worst; worstRatio = other.worstRatio }
        }

        public var description: String {
            "\(checked) entries checked, \(failures.count) failed; worst: \(worst.map { "\($0)" } ?? "none")"
        }
    }

    public var epsilon: Float
    public var absoluteTolerance: Float
    public var relativeTolerance: Float
    /// At most this many entries per tensor, spread evenly over it (all when it is smaller).
    public var entriesPerTensor: Int

    /// Central differences with step `epsilon`; a gradient passes within either tolerance.
    public init(epsilon: Float = 1e-2, absoluteTolerance: Float = 2e-3, relativeTolerance: Float = 2e-2,
                entriesPerTensor: Int = 40) {
        self.epsilon = epsilon
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
        self.entriesPerTensor = entriesPerTensor
    }

    /// Checks the analytic gradient of one tensor.
    /// - Parameters:
    ///   - values: the tensor, perturbed in place and restored exactly.
    ///   - analytic: ∂L/∂values as computed by the backward pass (read before any perturbation).
    ///   - loss: recomputes L from the current values (forward only).
    public func check(_ name: String, values: UnsafeMutablePointer<Float>, analytic: [Float],
                      loss: () -> Double) -> Report {
        var report = Report()
        let n = analytic.count
        guard n > 0 else { return report }
        let stride = max(1, n / entriesPerTensor)
        for i in Swift.stride(from: 0, to: n, by: stride) {
            let saved = values[i]
            values[i] = saved + epsilon
            let plus = loss()
            values[i] = saved - epsilon
            let minus = loss()
            values[i] = saved
            let numeric = Float((plus - minus) / (2 * Double(epsilon)))
            let entry = Entry(name: name, index: i, analytic: analytic[i], numeric: numeric)
            let allowed = absoluteTolerance + relativeTolerance * max(abs(entry.analytic), abs(numeric))
            let ratio = entry.difference / allowed
            report.checked += 1
            if !(ratio <= 1) { report.failures.append(entry) }   // NaN fails too
            if ratio > report.worstRatio || ratio.isNaN { report.worst = entry; report.worstRatio = ratio.isNaN ? .infinity : ratio }
        }
        return report
    }

    /// Checks every parameter of `arena`. The arena's gradients must hold ∂L/∂θ from one
    /// backward pass of the same `loss`.
    public func check(_ arena: ParameterArena, loss: () -> Double) -> Report {
        var report = Report()
        for p in arena.parameters {
            let analytic = Array(UnsafeBufferPointer(start: arena.gradient(p), count: p.count))
            report.merge(check(p.name, values: arena.value(p), analytic: analytic, loss: loss))
        }
        return report
    }
}
