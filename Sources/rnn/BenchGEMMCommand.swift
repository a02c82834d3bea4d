import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct GEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of square single-precision matrix multiplication (2·N³ flops per product).",
        discussion: """
            Examples:
              rnn bench gemm --size 512
              rnn bench gemm --size 1024 --json
              rnn bench gemm --path avx2 --threads 1
              rnn bench gemm --size 1024 --matmul-precision bf16
            """)

    @Option(parsing: .unconditional, help: "Matrix size N (N×N times N×N), 1...8192.")
    var size: Int = 512

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Kernel path: generic, avx2, avx512 or neon (default: the best this CPU has).")
    var path: String?

    @Option(help: "Precision of the products: fp32, or bf16 (operands rounded to bfloat16, summed in float32).")
    var matmulPrecision: GEMM.MatmulPrecision = .fp32

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
        GEMM.matmulPrecision = matmulPrecision
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
            print(JSON.object([("size", "\(n)"), ("matmul_precision", JSON.string(matmulPrecision.rawValue)),
                               ("gflops", String(format: "%.1f", gflops))]))
        } else {
            print(String(format: "sgemm %dx%dx%d  %@%@  %d threads  best of %d: %.3f ms  %.1f GFLOP/s",
                         n, n, n, GEMM.activePath.name, matmulPrecision == .bf16 ? " bf16" : "", GEMM.threads, runs,
                         best * 1e3, gflops))
        }
    }
}
