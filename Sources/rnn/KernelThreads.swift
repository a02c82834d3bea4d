import ArgumentParser
import Recurrent
import RecurrentApps

/// `--threads N`: the kernels' worker threads, for every command that runs a model.
struct KernelThreads: ParsableArguments {
    @Option(parsing: .unconditional, help: "Worker threads for the kernels (0: one per core). Results are identical for every count; on a machine whose cores are busy with other work, 1 can be faster.")
    var threads: Int = 0

    func validate() throws {
        guard threads >= 0 && threads <= 1024 else { throw ValidationError("invalid threads '\(threads)': expected 0...1024") }
    }

    /// Sets the kernels' thread count.
    func apply() { GEMM.threads = threads }
}
