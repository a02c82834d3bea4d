/// The processes of a data-parallel run as the core needs them: a rank, a count, and one
/// collective — a sum in a fixed order. The core holds no MPI; the `rnn` tool's MPI binding
/// (`RecurrentMPI`) implements this, and so do the tests, with threads.
///
/// Every rank must call the collectives in the same order with the same counts.
public protocol Communicator: AnyObject {
    /// This process's place, `0..<size`; rank 0 writes metrics and checkpoints.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces `values`, on every rank, with the element-wise sum of every rank's `values`,
    /// added in rank order 0, 1, …, N−1: the same bytes on every rank and on every run (float
    /// addition is not associative, so the order is fixed here, not left to the library).
    /// - Throws: `RecurrentError.distributed` when the communication fails.
    func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// The same for doubles (losses, counts, checksums).
    func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Double>) throws
}

/// What the one `Trainer` does with a `Communicator`: each rank computes the gradient of its
/// share of the global batch; `reduce` turns those into the gradient of the whole batch,
///
///     g = Σ_r (n_r / Σ_s n_s) · g_r,   n_r = the terms rank r's loss is a mean over,
///
/// identical on every rank, so the optimiser steps keep every rank's weights the same. Losses
/// and counts are summed the same way; `checkAgreement` proves the weights equal at every
/// evaluation; `gather` assembles per-rank state (a checkpoint's hidden state) on every rank.
public struct DataParallel {
    public let communicator: any Communicator
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }
    /// Rank 0: the one that runs the trainer's observers (metrics, checkpoints).
    public var isPrimary: Bool { communicator.rank == 0 }

    /// - Throws: `RecurrentError.distributed` for a communicator without ranks or with a rank
    ///   outside `0..<size`.
    public init(communicator: any Communicator) throws {
        let (rank, size) = (communicator.rank, communicator.size)
        try require(size >= 1 && rank >= 0 && rank < size,
                    .distributed(reason: "rank \(rank) of \(size): expected 0 <= rank < size"))
        self.communicator = communicator
    }

    /// This rank's share of `count` items split as evenly as the ranks allow, in rank order
    /// (the first `count % size` ranks take one more): rank r takes `share.lowerBound..<share.upperBound`.
    public func share(of count: Int) -> Range<Int> {
        Self.share(of: count, rank: rank, size: size)
    }

    /// Rank `rank`'s share of `count` items among `size` ranks (see `share(of:)`).
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }

    /// Replaces the arena's gradients by the global batch's (the weighted sum above) and returns
    /// the global batch's loss and token count.
    /// - Parameters:
    ///   - terms: n_r, the terms this rank's loss and gradient are a mean over (0 for an empty share).
    ///   - loss: this rank's loss; the result's mean is Σ_r (n_r / Σ n) · mean_r, its count Σ_r count_r.
    ///   - tokens: this rank's tokens; the result's are summed.
    public func reduce(_ arena: ParameterArena, terms: Int, loss: BatchLoss, tokens: Int) throws
        -> (loss: BatchLoss, tokens: Int) {
        var totals = [Double(terms), Double(terms) * loss.mean, Double(loss.count), Double(tokens)]
        try totals.withUnsafeMutableBufferPointer { try communicator.sumInRankOrder($0) }
        guard totals[0] > 0 else {
            throw RecurrentError.distributed(reason: "no rank had data in this step; expected a global batch of 1 or more")
        }
        // Each rank's gradient is the mean over its n_r terms: weighted by its share, the sum
        // is the mean over all of them.
        let weight = Float(Double(terms) / totals[0])
        let g = UnsafeMutableBufferPointer(start: arena.gradients, count: arena.count)
        for i in g.indices { g[i] *= weight }
        try communicator.sumInRankOrder(g)
        let mean = totals[1] / totals[0], count = totals[2]
        return (BatchLoss(sum: mean * max(count, 1), count: Int(count)), Int(totals[3]))
    }

    /// Whether `flag` is set on any rank (a stop signal seen by some ranks only: all stop together).
    public func anyRank(_ flag: Bool) throws -> Bool {
        var value = [flag ? 1.0 : 0]
        try value.withUnsafeMutableBufferPointer { try communicator.sumInRankOrder($0) }
        return value[0] > 0
    }

    /// Every rank's `local` values concatenated in rank order, on every rank.
    /// - Parameter counts: every rank's count of values, in rank order (the same on every rank).
    public func gather(_ local: [Float], counts: [Int]) throws -> [Float] {
        try require(counts.count == size && counts[rank] == local.count,
                    .distributed(reason: "rank \(rank) gathers \(local.count) values; expected counts[\(rank)] of \(counts)"))
        var all = [Float](repeating: 0, count: counts.reduce(0, +))
        let start = counts[..<rank].reduce(0, +)
        for (i, v) in local.enumerated() { all[start + i] = v }
        // A sum with zeros elsewhere is a gather (x + 0 = x; a −0 comes back as +0).
        try all.withUnsafeMutableBufferPointer { try communicator.sumInRankOrder($0) }
        return all
    }

    /// FNV-1a of the weights' bits (the checksum `checkAgreement` compares).
    public static func checksum(_ arena: ParameterArena) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<arena.count {
            h = (h ^ UInt64(arena.values[i].bitPattern)) &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// Compares the weights' checksum across ranks.
    /// - Returns: the checksum, the same on every rank.
    /// - Throws: `RecurrentError.distributed` naming the ranks that differ from rank 0.
    @discardableResult
    public func checkAgreement(_ arena: ParameterArena, step: Int) throws -> UInt64 {
        let mine = Self.checksum(arena)
        // Two exact 32-bit halves per rank: doubles hold them without rounding.
        var all = [Double](repeating: 0, count: 2 * size)
        all[2 * rank] = Double(mine >> 32)
        all[2 * rank + 1] = Double(mine & 0xFFFF_FFFF)
        try all.withUnsafeMutableBufferPointer { try communicator.sumInRankOrder($0) }
        let sums = (0..<size).map { UInt64(all[2 * $0]) << 32 | UInt64(all[2 * $0 + 1]) }
        let differing = sums.indices.filter { sums[$0] != sums[0] }
        try require(differing.isEmpty, .distributed(
            reason: "at step \(step) the weights of rank(s) \(differing.map(String.init).joined(separator: ", ")) differ "
                + "from rank 0's (checksums \(sums.map { String($0, radix: 16) })); expected the same weights on every rank "
                + "— every rank must run the same binary, options and checkpoint"))
        return mine
    }

    /// A generator for step `step`'s dropout masks on this rank, from `rng`'s state, the step
    /// and the rank; `rng` itself is not advanced, so batches and shuffles stay those of one
    /// process on every rank. Dropout masks differ from a single process's: runs with dropout
    /// are not comparable across rank counts (the same rank count repeats exactly).
    public func stepGenerator(_ rng: SeededGenerator, step: Int) -> SeededGenerator {
        var copy = rng
        let word = copy.next() ^ (UInt64(step) &* 0xD1B5_4A32_D192_ED03) ^ (UInt64(rank) &* 0x9E37_79B9_7F4A_7C15)
        return SeededGenerator(seed: word)
    }
}
