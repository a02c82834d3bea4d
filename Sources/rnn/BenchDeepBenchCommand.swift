import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct DeepBenchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepbench",
        abstract: "DeepBench's character-LM recurrent kernel: an LSTM forward pass, H = 256, B = 4, T = 150.",
        discussion: """
            Times the recurrent part of the forward pass through the one unroller, as DeepBench's RNN \
            kernels count it (the input product excluded: the input here has one feature, so the \
            input GEMM is 0.2% of the work), and reports the median over the runs in milliseconds \
            and GFLOP/s (2·4H·H·B·T FLOPs for the recurrent products). DeepBench's table gives \
            1.63 ms for this kernel on a GTX 1080 Ti with cuDNN.

            Examples:
              rnn bench deepbench
              rnn bench deepbench --hidden 512 --batch 16 --steps 50 --json
            """)

    @Option(parsing: .unconditional, help: "Hidden units H (default: 256).")
    var hidden: Int = 256

    @Option(parsing: .unconditional, help: "Batch B (default: 4).")
    var batch: Int = 4

    @Option(parsing: .unconditional, help: "Steps T (default: 150).")
    var steps: Int = 150

    @Option(parsing: .unconditional, help: "Timed runs after one warm-up (default: 50).")
    var runs: Int = 50

    @OptionGroup var kernelThreads: KernelThreads

    @Flag(help: "Print {\"hidden\", \"batch\", \"steps\", \"ms\", \"gflops\"}.")
    var json = false

    func validate() throws {
        for (name, value, range) in [("hidden", hidden, 1...8192), ("batch", batch, 1...4096), ("steps", steps, 1...100_000),
                                     ("runs", runs, 1...100_000)] where !range.contains(value) {
            throw ValidationError("invalid \(name) '\(value)': expected \(range.lowerBound)...\(range.upperBound)")
        }
    }

    func run() throws {
        kernelThreads.apply()
        let result = try benchmarkRecurrentForward(kind: .lstm, hidden: hidden, batch: batch, steps: steps, runs: runs)
        if json {
            print(JSON.object([("hidden", "\(hidden)"), ("batch", "\(batch)"), ("steps", "\(steps)"),
                               ("ms", String(format: "%.3f", result.seconds * 1e3)), ("gflops", String(format: "%.1f", result.gflops))]))
        } else {
            print(String(format: "LSTM forward, H = %d, B = %d, T = %d: %.3f ms (median of %d), %.1f GFLOP/s in the recurrent products",
                         hidden, batch, steps, result.seconds * 1e3, runs, result.gflops))
        }
    }
}
