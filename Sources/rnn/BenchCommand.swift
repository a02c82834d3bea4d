import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed.",
        discussion: """
            Examples:
              rnn bench                      every standard case: training and batch-1 generation
              rnn bench --case lstm-128x2-b50-t50 --json
              rnn bench --case lstm-512x2-b50-t100 --precision int8
              rnn bench gemm                 square SGEMM at 512, all cores
              rnn bench gemm --size 1024 --threads 2 --json
              rnn bench train --case lstm-512x2-b50-t100
            """,
        subcommands: [CasesBench.self, GEMMBench.self, TrainBench.self],
        defaultSubcommand: CasesBench.self)
}

struct GEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of square single-precision matrix multiplication (2·N³ flops per product).",
        discussion: """
            Examples:
              rnn bench gemm --size 512
              rnn bench gemm --size 1024 --json
              rnn bench gemm --path avx2 --threads 1
            """)

    @Option(parsing: .unconditional, help: "Matrix size N (N×N times N×N), 1...8192.")
    var size: Int = 512

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Kernel path: generic, avx2, avx512 or neon (default: the best this CPU has).")
    var path: String?

    @Option(parsing: .unconditional, help: "Seconds to keep measuring after warm-up; the best run is reported.")
    var seconds: Double = 1

    @Flag(help: "Print {\"size\": N, \"gflops\": x}.")
    var json = false

    func validate() throws {
        guard (1...8192).contains(size) else { throw ValidationError("invalid size '\(size)': expected 1...8192") }
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("invalid seconds '\(seconds)': expected (0, 600]") }
        if let path, GEMM.Path.allCases.first(where: { $0.name == path }) == nil {
            throw ValidationError("invalid path '\(path)': expected generic, avx2, avx512 or neon")
        }
    }

    func run() throws {
        if let path {
            let p = GEMM.Path.allCases.first { $0.name == path }!
            guard GEMM.select(p) else { throw ValidationError("path '\(path)' is not available on this CPU") }
        }
        kernelThreads.apply()
        let n = size
        var rng = SeededGenerator(seed: 42)
        let a = (0..<(n * n)).map { _ in rng.nextUniform(-1, 1) }
        let b = (0..<(n * n)).map { _ in rng.nextUniform(-1, 1) }
        var c = [Float](repeating: 0, count: n * n)
        func once() -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
                                      c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        }
        _ = once()
        var best = Double.infinity
        var elapsed = 0.0
        var runs = 0
        while elapsed < seconds || runs < 3 {
            let t = once()
            best = min(best, t)
            elapsed += t
            runs += 1
        }
        let gflops = 2 * Double(n) * Double(n) * Double(n) / best * 1e-9
        if json {
            print(JSON.object([("size", "\(n)"), ("gflops", String(format: "%.1f", gflops))]))
        } else {
            print(String(format: "sgemm %dx%dx%d  %@  %d threads  best of %d: %.3f ms  %.1f GFLOP/s",
                         n, n, n, GEMM.activePath.name, GEMM.threads, runs, best * 1e3, gflops))
        }
    }
}

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time training steps of a character model: forward, backward, clip 5, Adam.",
        discussion: """
            The model is Embedding(65, H) → recurrent stack → Linear(H, 65) on B streams of T
            random tokens; the median step time is reported.

            Examples:
              rnn bench train                                  every standard case
              rnn bench train --case lstm-512x2-b50-t100
              rnn bench train --cell gru --hidden 256 --layers 2 --batch 32 --seq 64 --json
            """)

    @Option(help: "A standard case: \(BenchmarkCase.standard.map(\.name).joined(separator: ", ")).")
    var `case`: String?

    @Option(help: "Cell for a custom case: lstm, gru, rnn, rnn_relu.")
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
            let r = try benchmarkTraining(c, seconds: seconds)
            if json {
                print(JSON.object([("case", JSON.string(c.name)), ("train_tok_s", String(format: "%.0f", r.tokensPerSecond)),
                                   ("ms_per_step", String(format: "%.2f", r.secondsPerStep * 1e3))]))
            } else {
                print(String(format: "%-24@ %8.2f ms/step  %10.0f tok/s  (median of %d steps, %d threads)",
                             c.name, r.secondsPerStep * 1e3, r.tokensPerSecond, r.steps, GEMM.threads))
            }
        }
    }
}

struct CasesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases",
        abstract: "Training and batch-1 generation speed of the standard cases, and peak memory.",
        discussion: """
            Each case runs in its own process (so peak memory is the case's own):
            Embedding(65, H) → stack → Linear(H, 65); training as `rnn bench train`; generation one
            token at a time with the state carried, sampling from the softmax. --precision sets how
            generation stores the weights (as `rnn sample --precision`); training is always fp32.

            Examples:
              rnn bench --case rnn-100x1-b1-t25 --json
              rnn bench cases --threads 1
              rnn bench cases --case gru-256x2-b32-t64 --precision bf16
            """)

    @Option(help: "A standard case: \(BenchmarkCase.standard.map(\.name).joined(separator: ", ")) (default: all).")
    var `case`: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Option(parsing: .unconditional, help: "Seconds of training steps to time per case.")
    var seconds: Double = 3

    @Option(parsing: .unconditional, help: "Tokens to generate per case.")
    var tokens: Int = 2000

    @Option(help: "How generation stores the weights: fp32, bf16, int8 or w8a8.", transform: parsePrecision)
    var precision: InferencePrecision = .fp32

    @Flag(help: "One JSON line per case: {\"case\", \"precision\", \"train_tok_s\", \"gen_tok_s\", \"peak_rss_mb\"}.")
    var json = false

    func validate() throws {
        if let name = `case`, !BenchmarkCase.standard.contains(where: { $0.name == name }) {
            throw ValidationError("unknown case '\(name)': expected one of \(BenchmarkCase.standard.map(\.name).joined(separator: ", "))")
        }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("invalid seconds '\(seconds)': expected (0, 3600]") }
        guard tokens >= 1 && tokens <= 10_000_000 else { throw ValidationError("invalid tokens '\(tokens)': expected 1...10000000") }
    }

    func run() throws {
        guard let name = `case` else {
            // One child process per case, so each reports its own peak memory.
            for c in BenchmarkCase.standard {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
                process.arguments = ["bench", "cases", "--case", c.name, "--threads", "\(kernelThreads.threads)", "--seconds", "\(seconds)",
                                     "--tokens", "\(tokens)", "--precision", precision.rawValue] + (json ? ["--json"] : [])
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
            }
            return
        }
        kernelThreads.apply()
        let c = BenchmarkCase.standard.first { $0.name == name }!
        let train = try benchmarkTraining(c, seconds: seconds)
        let generation = try benchmarkGeneration(c, tokens: tokens, precision: precision)
        let rss = peakResidentMegabytes()
        if json {
            print(JSON.object([("case", JSON.string(c.name)), ("precision", JSON.string(precision.rawValue)),
                               ("train_tok_s", String(format: "%.0f", train.tokensPerSecond)),
                               ("gen_tok_s", String(format: "%.0f", generation.tokensPerSecond)),
                               ("peak_rss_mb", String(format: "%.1f", rss))]))
        } else {
            print(String(format: "%@  train %.0f tok/s  generate (%@) %.0f tok/s  peak RSS %.1f MB  (%d threads)",
                         c.name.padding(toLength: 22, withPad: " ", startingAt: 0), train.tokensPerSecond,
                         precision.rawValue, generation.tokensPerSecond, rss, GEMM.threads))
        }
    }
}
