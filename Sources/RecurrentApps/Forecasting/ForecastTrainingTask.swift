import Foundation
import Recurrent

/// A forecaster's training as the core's `Trainer` sees it: windows of T = C + H steps from every
/// series, shuffled with the trainer's seeded generator at the start of every epoch and cut into
/// batches of B; the loss is the Gaussian negative log-likelihood of the scaled targets
/// (y − ℓ)/s over the B·H future steps (the context steps are masked out).
///
/// For a series of n values the last H are held out: validation is the window at origin n − H,
/// training the windows at every origin o with C ≤ o ≤ n − 2H (wholly before the held-out part).
final class ForecastTrainingTask: TrainingTask {
    struct Window: Sendable {
        /// Index into `series`.
        let series: Int
        /// o.
        let origin: Int
    }

    let network: ForecastNetwork
    let series: [ForecastFeatures.Series]
    let windows: [Window]
    let validation: [Window]
    let batchSize: Int
    /// This epoch's order of `windows`.
    private var order: [Int]
    var arena: ParameterArena { network.arena }
    var stepsPerEpoch: Int { (windows.count + batchSize - 1) / batchSize }

    /// The last forward's input and outputs; the last loss's gradient.
    private var last: (input: [Float], output: [Float], targets: [Float], mask: [UInt8])?
    private var gradient: [Float] = []

    /// - Parameter series: each at least C + 2H long (the caller checks, naming the series).
    init(network: ForecastNetwork, series: [ForecastFeatures.Series], batch: Int) {
        self.network = network
        self.series = series
        let (c, h) = (network.context, network.horizon)
        windows = series.indices.flatMap { i in
            (c...(series[i].values.count - 2 * h)).map { Window(series: i, origin: $0) }
        }
        validation = series.indices.map { Window(series: $0, origin: series[$0].values.count - h) }
        batchSize = batch
        order = Array(windows.indices)
    }

    func batch(step: Int, rng: inout SeededGenerator) -> [Window] {
        let k = step % stepsPerEpoch
        if k == 0 {
            order = Array(windows.indices)
            order.shuffle(using: &rng)
        }
        return order[(k * batchSize)..<min((k + 1) * batchSize, windows.count)].map { windows[$0] }
    }

    func forward(_ batch: [Window], training: Bool, rng: inout SeededGenerator) throws {
        last = try run(batch, training: training, rng: &rng)
    }

    /// Input, outputs, scaled targets (B·T) and the mask of the future steps (B·T).
    private func run(_ batch: [Window], training: Bool, rng: inout SeededGenerator) throws
        -> (input: [Float], output: [Float], targets: [Float], mask: [UInt8]) {
        let (c, t) = (network.context, network.steps)
        let (input, levels) = try network.input(batch.map { (series[$0.series], $0.origin) })
        var targets = [Float](repeating: 0, count: batch.count * t)
        var mask = [UInt8](repeating: 0, count: batch.count * t)
        for (r, w) in batch.enumerated() {
            let s = series[w.series]
            for k in c..<t {
                targets[r * t + k] = Float((s.values[w.origin + k - c] - levels[r]) / s.scale)
                mask[r * t + k] = 1
            }
        }
        let output = network.forward(input, batch: batch.count, training: training, rng: &rng)
        return (input, output, targets, mask)
    }

    func loss(_ batch: [Window]) -> BatchLoss {
        let l = last!
        gradient = [Float](repeating: 0, count: l.output.count)
        let (loss, n) = Loss.gaussianNegativeLogLikelihood(l.output, targets: l.targets, rows: l.targets.count, mask: l.mask,
                                                           minimumScale: ForecastNetwork.minimumScale, gradient: &gradient)
        return BatchLoss(sum: Double(loss) * Double(n), count: n)
    }

    func backward(_ batch: [Window]) throws {
        network.backward(last!.input, batch: batch.count, outputGradient: gradient)
    }

    func tokens(in batch: [Window]) -> Int { batch.count * network.steps }

    /// The mean Gaussian NLL per held-out step (scaled units), dropout off.
    func evaluate() throws -> Evaluation? {
        var noDropout = SeededGenerator(seed: 0)
        var sum = 0.0, count = 0
        for start in stride(from: 0, to: validation.count, by: batchSize) {
            let l = try run(Array(validation[start..<min(start + batchSize, validation.count)]), training: false, rng: &noDropout)
            let (loss, n) = Loss.gaussianNegativeLogLikelihood(l.output, targets: l.targets, rows: l.targets.count, mask: l.mask,
                                                               minimumScale: ForecastNetwork.minimumScale, gradient: nil)
            sum += Double(loss) * Double(n)
            count += n
        }
        return Evaluation(loss: sum / Double(max(count, 1)))
    }
}
