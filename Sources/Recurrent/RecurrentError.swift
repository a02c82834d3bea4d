/// The errors the library throws. Each says what was expected, what was found and, where
/// it helps, what to do; the CLI prints `description` as a one-line message.
public enum RecurrentError: Error, Equatable, CustomStringConvertible {
    /// An operation got arrays whose shapes do not fit together.
    case shapeMismatch(operation: String, expected: String, found: String)
    /// A value outside its accepted range or set.
    case invalidArgument(name: String, value: String, expected: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A file was read but its contents are not what was expected (format, encoding, shapes).
    case invalidFile(path: String, reason: String)
    /// Training produced a loss that is NaN or infinite.
    case divergence(step: Int, loss: Float)
    /// A service cannot take the work now: one of its limits is reached (`retryLater`: the same
    /// request can succeed once other work has finished), or it is stopping for good.
    case unavailable(what: String, reason: String, retryLater: Bool)
    /// The ranks of a data-parallel run disagree, or their communication failed.
    case distributed(reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, expected, found):
            return "\(operation): expected shape \(expected), found \(found)"
        case let .invalidArgument(name, value, expected):
            return "invalid \(name) '\(value)': expected \(expected)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .invalidFile(path, reason):
            return "\(path): \(reason)"
        case let .divergence(step, loss):
            return "training diverged at step \(step): loss is \(loss); lower the learning rate or clip gradients"
        case let .unavailable(what, reason, retryLater):
            return "\(what) unavailable: \(reason)" + (retryLater ? "; try again when others have finished" : "")
        case let .distributed(reason):
            return "data-parallel run: \(reason)"
        }
    }
}

@inline(__always)
package func require(_ condition: Bool, _ error: @autoclosure () -> RecurrentError) throws {
    if !condition { throw error() }
}
