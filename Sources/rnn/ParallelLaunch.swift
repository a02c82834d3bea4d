import Foundation
import Recurrent
#if MPI
import RecurrentMPI
#endif

/// How this process was started: alone, or as one rank of `mpirun -np N rnn train|fit …`.
///
/// Built with the MPI trait (`swift build --traits MPI`), a launch by mpirun with more than one
/// rank starts MPI and trains data-parallel: ranks above 0 print nothing on standard output,
/// and a failure on any rank prints its reason and stops every rank (MPI_Abort). Built without
/// it, such a launch is refused, so that N copies do not train N models into the same folder.
enum ParallelLaunch {
    #if MPI
    nonisolated(unsafe) private static var communicator: MPICommunicator?
    #endif

    /// The number of ranks the launcher started, from its environment (Open MPI's mpirun, or a
    /// PMI launcher such as MPICH's); nil outside a launcher.
    static var launchedRanks: Int? {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }

    /// This rank's part in a data-parallel run; nil for a process alone (or a launch of 1 rank).
    /// - Throws: a launch of several ranks by a tool built without the MPI trait; MPI failing to start.
    static func start() throws -> DataParallel? {
        guard let ranks = launchedRanks, ranks > 1 else { return nil }
        #if MPI
        let c = try MPICommunicator()
        communicator = c
        if c.rank > 0 { dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO) }   // rank 0 speaks for the run
        return try DataParallel(communicator: c)
        #else
        throw RecurrentError.distributed(reason: "started as one of \(ranks) ranks, but this rnn was built without MPI, so each "
                                         + "rank would train its own model into the same folder; build it with "
                                         + "`swift build -c release --traits MPI` (needs libopenmpi-dev), or run one process")
        #endif
    }

    /// "rank r of N: " in a data-parallel run, for the lines on standard error; "" otherwise.
    static var prefix: String {
        #if MPI
        if let c = communicator { return "rank \(c.rank) of \(c.size): " }
        #endif
        return ""
    }

    /// After a run that ended well on every rank: one line per rank on standard error (the
    /// weights' checksum, which every rank must share, and the time spent summing gradients),
    /// then MPI's end.
    static func finish(arena: ParameterArena, steps: Int) {
        #if MPI
        guard let c = communicator else { return }
        let gradientBytes = arena.count * MemoryLayout<Float>.stride
        FileHandle.standardError.write(Data(("\(prefix)weights fnv1a \(String(DataParallel.checksum(arena), radix: 16)); "
            + String(format: "%d steps, all-reduce %.4f s in %d calls (%d bytes); gradients %d bytes a step\n",
                     steps, c.floatSeconds, c.floatCalls, c.floatBytes, gradientBytes)).utf8))
        c.finalize()
        communicator = nil
        #endif
    }

    /// After a failure on this rank (its message already printed): stops every other rank.
    static func abortOtherRanks() {
        #if MPI
        communicator?.abort()
        #endif
    }
}
