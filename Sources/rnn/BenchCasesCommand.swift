import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct CasesBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cases",
        abstract: "Training and batch-1 generation speed of the standard cases, and peak memory.",
        discussion: """
            Each case runs in its own process (so peak memory is the case's own): \
            Embedding(65, H) → stack → Linear(H, 65); training as `rnn bench train`; generation one \
            token at a time with the state carried, sampling from the softmax. --precision sets how \
            generation stores the weights (as `rnn sample --precision`); --matmul-precision sets training's \
            products (as `rnn train --matmul-precision`).

            Examples:
              rnn bench --case rnn-100x1-b1-t25 --json
              rnn bench cases --threads 1
              rnn bench cases --case gru-256x2-b32-t64 --precision bf16
              rnn bench cases --matmul-precision bf16 --roofline
            """)

    @Option(help: "A standard case: \(BenchmarkCase.standard.map(\.name).joined(separator: ", ")) (default: all).")
    var `case`: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Option(parsing: .unconditional, help: "Seconds of training steps to time per case.")
    var seconds: Double = 3

    @Option(parsing: .unconditional, help: "Tokens to generate per case.")
    var tokens: Int = 2000

    @Option(help: "How generation stores the weights: fp32, bf16, int8 or w8a8.")
    var precision: InferencePrecision = .fp32

    @Option(help: "Precision of training's matrix products: fp32, or bf16 (operands rounded to bfloat16, summed in float32).")
    var matmulPrecision: GEMM.MatmulPrecision = .fp32

    @Flag(help: "One JSON line per case: {\"case\", \"precision\", \"train_tok_s\", \"gen_tok_s\", \"peak_rss_mb\"} (with --roofline also \"train_share\", \"gen_share\" and the ceilings).")
    var json = false

    @Flag(help: "Also measure this machine's ceilings and print each figure's share of them: training GFLOP/s (the FLOPs the model needs) over the FMA ceiling of all kernel threads (with bf16 products also over the ceiling of bf16 dot products), generation tokens/s over the rate at which each core can read its share of the token's weights.")
    var roofline = false

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
                                     "--tokens", "\(tokens)", "--precision", precision.rawValue,
                                     "--matmul-precision", matmulPrecision.rawValue] + (json ? ["--json"] : [])
                    + (roofline ? ["--roofline"] : [])
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw ExitCode(process.terminationStatus) }
            }
            return
        }
        kernelThreads.apply()
        let c = BenchmarkCase.standard.first { $0.name == name }!
        let train = try benchmarkTraining(c, seconds: seconds, matmulPrecision: matmulPrecision)
        let generation = try benchmarkGeneration(c, tokens: tokens, precision: precision)
        let rss = peakResidentMegabytes()
        // The ceilings after the timed runs, so measuring them takes nothing from those.
        var shares: [(String, String)] = [], line = ""
        if roofline {
            let ceiling = Roofline.measure()
            let trainGFLOPS = try c.trainingFLOPsPerToken() * train.tokensPerSecond * 1e-9
            let bytes = try c.generationBytesPerToken(precision) / Double(GEMM.threads)
            let readCeiling = Roofline.readCeiling(bytesPerCore: bytes)
            let (trainShare, genShare) = (trainGFLOPS / ceiling.fmaGFLOPS, generation.tokensPerSecond / readCeiling)
            shares = [("threads", "\(GEMM.threads)"), ("train_gflops", String(format: "%.1f", trainGFLOPS)), ("fma_gflops", String(format: "%.1f", ceiling.fmaGFLOPS)),
                      ("train_share", String(format: "%.3f", trainShare)), ("gen_kb_per_core", String(format: "%.1f", bytes / 1024)),
                      ("gen_ceiling_tok_s", String(format: "%.0f", readCeiling)), ("gen_share", String(format: "%.3f", genShare))]
            line = String(format: "\n    train %.1f GFLOP/s = %.0f%% of the FMA ceiling (%.1f GFLOP/s)", trainGFLOPS,
                          100 * trainShare, ceiling.fmaGFLOPS)
            if matmulPrecision == .bf16, let bf16 = ceiling.bf16GFLOPS {
                shares += [("bf16_gflops", String(format: "%.1f", bf16)), ("train_share_bf16", String(format: "%.3f", trainGFLOPS / bf16))]
                line += String(format: ", %.0f%% of the bf16 dot-product ceiling (%.1f GFLOP/s)", 100 * trainGFLOPS / bf16, bf16)
            }
            line += String(format: "; generate reads %.1f KB a core a token: ceiling %.0f tok/s, reached %.0f%%",
                           bytes / 1024, readCeiling, 100 * genShare)
        }
        if json {
            print(JSON.object([("case", JSON.string(c.name)), ("precision", JSON.string(precision.rawValue)),
                               ("matmul_precision", JSON.string(matmulPrecision.rawValue)),
                               ("train_tok_s", String(format: "%.0f", train.tokensPerSecond)),
                               ("gen_tok_s", String(format: "%.0f", generation.tokensPerSecond)),
                               ("peak_rss_mb", String(format: "%.1f", rss))] + shares))
        } else {
            print(String(format: "%@  train %.0f tok/s  generate (%@) %.0f tok/s  peak RSS %.1f MB  (%d threads)",
                         c.name.padding(toLength: 22, withPad: " ", startingAt: 0), train.tokensPerSecond,
                         precision.rawValue, generation.tokensPerSecond, rss, GEMM.threads) + line)
        }
    }
}
