/// The package's version (semantic versioning), the one place it is written; `rnn --version`
/// prints it.
public let recurrentVersion = "0.9.0"
