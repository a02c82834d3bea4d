import Foundation
import Recurrent

/// A sequence task as the trainer sees it: examples sorted by length (ties in a seeded order)
/// and cut into batches; the batch order shuffled at the start of every epoch. In a data-parallel
/// run each rank takes a contiguous share of every batch's examples (none, when a batch is
/// smaller than the ranks: that rank's gradient then weighs nothing).
final class SequenceTrainingTask: TrainingTask {
    let network: any TaskNetwork
    let training: [EncodedExample]
    let validation: [EncodedExample]
    let batchSize: Int
    let batches: [Range<Int>]
    let parallel: DataParallel?
    /// This epoch's batch order (saved in `last` for an exact resume).
    var order: [Int]
    var arena: ParameterArena { network.arena }
    var stepsPerEpoch: Int { batches.count }

    init(network: any TaskNetwork, training: [EncodedExample], validation: [EncodedExample],
         batch: Int, parallel: DataParallel? = nil, rng: inout SeededGenerator) {
        self.network = network
        self.parallel = parallel
        self.validation = validation
        batchSize = batch
        var order = Array(training.indices)
        order.shuffle(using: &rng)
        order.sort { training[$0].length < training[$1].length }   // stable: the shuffle breaks ties
        self.training = order.map { training[$0] }
        batches = stride(from: 0, to: training.count, by: batch).map { $0..<min($0 + batch, training.count) }
        self.order = Array(batches.indices)
    }

    func batch(step: Int, rng: inout SeededGenerator) -> ArraySlice<EncodedExample> {
        if step % stepsPerEpoch == 0 {
            order = Array(batches.indices)
            order.shuffle(using: &rng)
        }
        let whole = batches[order[step % stepsPerEpoch]]
        guard let parallel else { return training[whole] }
        let share = parallel.share(of: whole.count)
        return training[(whole.lowerBound + share.lowerBound)..<(whole.lowerBound + share.upperBound)]
    }

    // An empty share (a batch smaller than the ranks) computes nothing and counts nothing.

    func forward(_ batch: ArraySlice<EncodedExample>, training: Bool, rng: inout SeededGenerator) throws {
        if !batch.isEmpty { try network.forward(batch, training: training, rng: &rng) }
    }

    func loss(_ batch: ArraySlice<EncodedExample>) -> BatchLoss {
        batch.isEmpty ? BatchLoss(sum: 0, count: 0) : network.loss(batch)
    }

    func backward(_ batch: ArraySlice<EncodedExample>) throws { if !batch.isEmpty { try network.backward(batch) } }

    func tokens(in batch: ArraySlice<EncodedExample>) -> Int { batch.reduce(0) { $0 + $1.length } }

    /// Mean loss over the validation set and its accuracy where the task has one, dropout off.
    func evaluate() throws -> Evaluation? {
        var noDropout = SeededGenerator(seed: 0)
        var sum = 0.0, count = 0
        var right = 0, counted = 0
        for start in stride(from: 0, to: validation.count, by: batchSize) {
            let batch = validation[start..<min(start + batchSize, validation.count)]
            try network.forward(batch, training: false, rng: &noDropout)
            let l = network.loss(batch)
            sum += l.sum
            count += l.count
            if let a = network.accuracy(batch) {
                right += a.right
                counted += a.count
            }
        }
        let accuracy = counted > 0 ? [Evaluation.Metric("accuracy", Double(right) / Double(counted))] : []
        return Evaluation(loss: sum / Double(max(count, 1)), metrics: accuracy)
    }
}
