import Foundation
import Recurrent

/// The network of a forecaster: the core's `SequenceModel` reading the window features
/// (B, T, D), T = C + H, and giving two numbers (a, b) at every step (`readout: .allSteps`).
///
/// On future step h the predictive distribution is N(μ', σ'²) in scaled units, μ' = a and
/// σ' = softplus(b) + 10⁻³ (`Loss.gaussianScale`); in the series' units μ = ℓ + s·μ' and
/// σ = s·σ', ℓ the window level and s the series' scale. The same network reads the context and
/// the future: the features say which steps are observed.
final class ForecastNetwork {
    /// The floor on σ' (scaled units).
    static let minimumScale = 1e-3

    let features: ForecastFeatures
    /// C.
    let context: Int
    /// H.
    let horizon: Int
    let model: SequenceModel
    let arena: ParameterArena
    let workspace = SequenceModelWorkspace()
    /// T = C + H.
    var steps: Int { context + horizon }

    /// Registers `rnn.*` and `head.*` (2 outputs).
    /// - Parameter verify: sees the layout before the parameters are allocated (a checkpoint's
    ///   tensors are checked against it, so a small file cannot make us allocate a huge model).
    /// - Throws: `RecurrentError.invalidArgument` for bad sizes; what `verify` throws.
    init(features: ForecastFeatures, context: Int, horizon: Int, cell: CellKind, hiddenSize: Int, layers: Int, dropout: Float,
         seed: UInt64, verify: (ParameterLayout) throws -> Void = { _ in }) throws {
        self.features = features
        self.context = context
        self.horizon = horizon
        var layout = ParameterLayout()
        model = try SequenceModel(input: .features(features.count), kind: cell, hiddenSize: hiddenSize, layers: layers,
                                  dropout: dropout, outputs: 2, layout: &layout)
        try verify(layout)
        arena = ParameterArena(layout: layout, seed: seed)
    }

    /// The input of a batch of windows, (B, T, D), and each window's level ℓ (B).
    func input(_ windows: [(series: ForecastFeatures.Series, origin: Int)]) throws -> (input: [Float], levels: [Double]) {
        let size = steps * features.count
        var input = [Float](repeating: 0, count: windows.count * size)
        var levels: [Double] = []
        levels.reserveCapacity(windows.count)
        try input.withUnsafeMutableBufferPointer { x in
            for (r, w) in windows.enumerated() {
                levels.append(try features.fill(x.baseAddress! + r * size, series: w.series, origin: w.origin,
                                                context: context, horizon: horizon))
            }
        }
        return (input, levels)
    }

    /// Forward: (a, b) at every step of every window, (B, T, 2).
    /// - Parameter training: dropout between layers, its masks drawn from `rng`.
    func forward(_ input: [Float], batch b: Int, training: Bool, rng: inout SeededGenerator) -> [Float] {
        var output = [Float](repeating: 0, count: b * steps * 2)
        input.withUnsafeBufferPointer { x in
            model.forward(features: x.baseAddress, batch: b, steps: steps, readout: .allSteps, output: &output,
                          training: training, rng: &rng, workspace: workspace, arena: arena)
        }
        return output
    }

    /// Backward of the last `forward` on `input`: parameter gradients accumulate (+=) into the arena.
    /// - Parameter outputGradient: ∂L/∂(a, b), (B, T, 2).
    func backward(_ input: [Float], batch b: Int, outputGradient: [Float]) {
        input.withUnsafeBufferPointer { x in
            model.backward(features: x.baseAddress, batch: b, steps: steps, readout: .allSteps, outputGradient: outputGradient,
                           workspace: workspace, arena: arena)
        }
    }

    /// The predictive (μ, σ) in the series' units of future step h (0-based) of window `row`:
    /// μ = ℓ + s·a, σ = s·(softplus(b) + 10⁻³).
    func distribution(_ output: [Float], row: Int, step h: Int, level: Double, scale: Double) -> (mean: Double, sd: Double) {
        let i = (row * steps + context + h) * 2
        return (level + scale * Double(output[i]),
                scale * Loss.gaussianScale(Double(output[i + 1]), minimumScale: Self.minimumScale))
    }
}
