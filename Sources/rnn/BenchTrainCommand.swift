import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time training steps of a character model: forward, backward, clip 5, Adam.",
        discussion: """
            The model is Embedding(65, H) → recurrent stack → Linear(H, 65) on B streams of T \
            random tokens; the median step time is reported.

            Examples:
              rnn bench train                                  every standard case
              rnn bench train --case lstm-512x2-b50-t100
              rnn bench train --cell gru --hidden 256 --layers 2 --batch 32 --seq 64 --json
            """)

    @Option(help: "A standard case: \(BenchmarkCase.standard.map(\.name).joined(separator: ", ")).")
    var `case`: String?

    @Option(help: "Cell for a custom case: \(cellNames).")
    var cell: String?

    @Option(parsing: .unconditional, help: "Hidden units (custom case).")
    var hidden: Int = 128

    @Option(parsing: .unconditional, help: "Layers (custom case).")
    var layers: Int = 2

    @Option(parsing: .unconditional, help: "Streams per batch (custom case).")
    var batch: Int = 50

    @Option(parsing: .unconditional, help: "Steps per sequence (custom case).")
    var seq: Int = 50

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Precision of the matrix products: fp32, or bf16 (operands rounded to bfloat16, summed in float32).")
    var matmulPrecision: GEMM.MatmulPrecision = .fp32

    @Option(parsing: .unconditional, help: "Seconds to measure each case.")
    var seconds: Double = 3

    @Flag(help: "One JSON line per case: {\"case\", \"train_tok_s\", \"ms_per_step\"}.")
    var json = false

    func validate() throws {
        if let name = `case`, !BenchmarkCase.standard.contains(where: { $0.name == name }) {
            throw ValidationError("unknown case '\(name)': expected one of \(BenchmarkCase.standard.map(\.name).joined(separator: ", "))")
        }
        if let cell { do { _ = try CellKind(parsing: cell) } catch { throw ValidationError("\(error)") } }
        for (name, value) in [("hidden", hidden), ("layers", layers), ("batch", batch), ("seq", seq)] where value < 1 || value > 100_000 {
            throw ValidationError("invalid \(name) '\(value)': expected 1...100000")
        }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("invalid seconds '\(seconds)': expected (0, 3600]") }
    }

    func run() throws {
        kernelThreads.apply()
        let cases: [BenchmarkCase]
        if let cell {
            cases = [BenchmarkCase(kind: try CellKind(parsing: cell), hiddenSize: hidden, layers: layers, batch: batch, steps: seq)]
        } else if let name = `case` {
            cases = BenchmarkCase.standard.filter { $0.name == name }
        } else {
            cases = BenchmarkCase.standard
        }
        for c in cases {
            let r = try benchmarkTraining(c, seconds: seconds, matmulPrecision: matmulPrecision)
            if json {
                print(JSON.object([("case", JSON.string(c.name)), ("train_tok_s", String(format: "%.0f", r.tokensPerSecond)),
                                   ("ms_per_step", String(format: "%.2f", r.secondsPerStep * 1e3)),
                                   ("matmul_precision", JSON.string(matmulPrecision.rawValue))]))
            } else {
                print(String(format: "%-24@ %8.2f ms/step  %10.0f tok/s  (median of %d steps, %d threads)",
                             c.name, r.secondsPerStep * 1e3, r.tokensPerSecond, r.steps, GEMM.threads))
            }
        }
    }
}
