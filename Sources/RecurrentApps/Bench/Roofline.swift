import CRecurrentKernels
import Foundation
import Recurrent

/// The machine's own ceilings for a benchmark case (`rnn bench --roofline`): the float32 FMA
/// rate of all the kernels' threads, and the least time each core needs to read its share of the
/// weights a batch-1 token meets — measured here, the way `dev/bandwidth/` measures them.
package struct Roofline: Sendable {
    /// GFLOP/s of independent FMA chains on every kernel thread at once (the active ISA path).
    package let fmaGFLOPS: Double
    /// GFLOP/s of independent AVX-512 BF16 dot-product chains, the ceiling of bf16 products; nil
    /// where they run without the instruction.
    package let bf16GFLOPS: Double?

    /// Measures the FMA ceiling and the bf16 one (a few tenths of a second each).
    package static func measure() -> Roofline {
        _ = rk_fma_gflops(1_000_000)   // wakes the threads and the clocks
        let fma = (0..<3).map { _ in rk_fma_gflops(20_000_000) }.max()!
        let bf16 = (0..<3).map { _ in rk_bf16_gflops(20_000_000) }.max()!
        return Roofline(fmaGFLOPS: fma, bf16GFLOPS: bf16 > 0 ? bf16 : nil)
    }

    /// Tokens/s a batch-1 step could reach if reading `bytes` of weights per core were all it did.
    package static func readCeiling(bytesPerCore bytes: Double) -> Double {
        let seconds = rk_read_seconds(Int(bytes.rounded(.up)), 20)
        return seconds > 0 ? 1 / seconds : 0
    }
}

extension BenchmarkCase {
    /// The case's model with fresh weights (only its shapes are read here).
    func cells() throws -> [any RecurrentCell] {
        var layout = ParameterLayout()
        return try SequenceModel(input: .tokens(vocabulary: vocabulary, embedding: hiddenSize), kind: kind,
                                 hiddenSize: hiddenSize, layers: layers, outputs: vocabulary, layout: &layout).stack.cells
    }

    /// The FLOPs a training token needs, counting the model, not the kernels' extra work: forward,
    /// 2 per multiply-add of every product — each layer's recurrent product, P × K, its input
    /// product, P × D, but the first layer's (a token's one-hot input makes that a row lookup), an
    /// output projection, and the head, V × H — and backward twice that (the gradients of the
    /// inputs and of the weights). The element-wise gate math is left out.
    package func trainingFLOPsPerToken() throws -> Double {
        var multiplyAdds = 0.0
        for (i, cell) in try cells().enumerated() {
            multiplyAdds += Double(cell.projectionSize * ((i == 0 ? 0 : cell.inputSize) + (cell.recurrence?.inputSize ?? 0)))
            if let w = cell.outputProjection { multiplyAdds += Double(w.count) }
        }
        multiplyAdds += Double(vocabulary * hiddenSize)
        return 3 * 2 * multiplyAdds
    }

    /// The bytes of weights a batch-1 token reads when generating: every W_hh, every W_ih but the
    /// first layer's (whose per-symbol row is P values), the head — at `precision`'s width.
    package func generationBytesPerToken(_ precision: InferencePrecision) throws -> Double {
        let width: Double = switch precision {
        case .fp32: 4
        case .bf16: 2
        case .int8, .w8a8: 1
        }
        let cells = try cells()
        var weights = Double(vocabulary * hiddenSize)
        for (i, cell) in cells.enumerated() {
            weights += Double(cell.projectionSize * (cell.recurrence?.inputSize ?? 0))
            weights += Double(i == 0 ? 0 : cell.projectionSize * cell.inputSize)
        }
        return weights * width + Double(cells[0].projectionSize * 4)   // the symbol's row, float32
    }
}
