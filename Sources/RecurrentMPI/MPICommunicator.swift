// Built with the MPI trait only (`swift build --traits MPI`); without it this target is empty and
// nothing of MPI is compiled or linked.
#if MPI
import CMPI
import Foundation
import Recurrent

/// The core's `Communicator` over MPI's world communicator (Open MPI).
///
/// `sumInRankOrder` is a reduce-scatter and an all-gather written so that the order of the
/// additions is fixed: the buffer is cut into N chunks, rank k receives chunk k of every rank
/// (`MPI_Alltoallv`), adds them in rank order 0, 1, …, N−1, and every rank receives every
/// summed chunk (`MPI_Allgatherv`). Each rank sends and receives 2(N−1)/N of the buffer, what a
/// ring `MPI_Allreduce` moves, with N−1 messages per phase instead of the ring's one; the sums
/// repeat bit for bit whatever the library, the network or the message timing.
///
/// MPI's error handler is set to return: a failed call throws `RecurrentError.distributed`
/// with MPI's own words, and the tool ends every rank with `abort(reason:)`.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Seconds spent in `sumInRankOrder` on floats (the gradients, and a checkpoint's state).
    public private(set) var floatSeconds = 0.0
    /// Bytes of float buffers summed, and the calls that summed them.
    public private(set) var floatBytes = 0
    public private(set) var floatCalls = 0
    private let world = cmpi_comm_world()

    /// Initialises MPI (once per process) and sets the world's error handler to return.
    /// - Throws: `RecurrentError.distributed` when MPI cannot start.
    public init() throws {
        var started: Int32 = 0
        MPI_Initialized(&started)
        if started == 0 {
            let code = MPI_Init(nil, nil)
            guard code == MPI_SUCCESS else {
                throw RecurrentError.distributed(reason: "MPI_Init failed with code \(code); start the ranks with mpirun")
            }
        }
        MPI_Comm_set_errhandler(world, cmpi_errors_return())
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r)
        size = Int(n)
    }

    /// Ends MPI after a run that succeeded on every rank.
    public func finalize() { MPI_Finalize() }

    /// Stops every rank of the job (MPI_Abort) after the caller has said why.
    public func abort(code: Int32 = 1) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    public func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Float>) throws {
        let started = Date()
        try sum(values, type: cmpi_float())
        floatSeconds += Date().timeIntervalSince(started)
        floatBytes += values.count * MemoryLayout<Float>.stride
        floatCalls += 1
    }

    public func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try sum(values, type: cmpi_double())
    }

    private func sum<T: BinaryFloatingPoint>(_ values: UnsafeMutableBufferPointer<T>, type: MPI_Datatype) throws {
        guard size > 1, let base = values.baseAddress else { return }
        guard values.count <= Int(Int32.max) else {
            throw RecurrentError.distributed(reason: "a sum of \(values.count) values; MPI counts stop at \(Int32.max)")
        }
        let chunks = (0..<size).map { DataParallel.share(of: values.count, rank: $0, size: size) }
        let mine = chunks[rank]
        // Rank k's chunk k from every rank, side by side in rank order.
        var received = [T](repeating: 0, count: size * mine.count)
        let sendCounts = chunks.map { Int32($0.count) }, sendOffsets = chunks.map { Int32($0.lowerBound) }
        let receiveCounts = [Int32](repeating: Int32(mine.count), count: size)
        let receiveOffsets = (0..<size).map { Int32($0 * mine.count) }
        try received.withUnsafeMutableBytes { r in
            try check(MPI_Alltoallv(base, sendCounts, sendOffsets, type, r.baseAddress, receiveCounts, receiveOffsets, type, world),
                      "MPI_Alltoallv")
        }
        // The fixed order: rank 0's value, + rank 1's, …, + rank N−1's.
        for i in 0..<mine.count {
            var s = received[i]
            for r in 1..<size { s += received[r * mine.count + i] }
            base[mine.lowerBound + i] = s
        }
        try check(MPI_Allgatherv(cmpi_in_place(), 0, type, base, sendCounts, sendOffsets, type, world), "MPI_Allgatherv")
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let words = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw RecurrentError.distributed(reason: "\(call) failed on rank \(rank) of \(size): \(words); "
                                         + "another rank has probably stopped (see its message)")
    }
}
#endif
