import Foundation
import Recurrent

/// N ranks as N threads of this process: the core's `Communicator` without MPI, for tests. The
/// sum adds every rank's buffer in rank order, as the MPI binding does.
final class ThreadCommunicator: Communicator, @unchecked Sendable {
    /// What the ranks of one group share: one slot per rank and a barrier.
    final class Group: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var arrived = 0, generation = 0
        var floats: [[Float]]
        var doubles: [[Double]]

        init(size: Int) {
            self.size = size
            floats = Array(repeating: [], count: size)
            doubles = Array(repeating: [], count: size)
        }

        /// Waits until every rank has arrived.
        fileprivate func barrier() {
            condition.lock()
            let g = generation
            arrived += 1
            if arrived == size {
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while g == generation { condition.wait() }
            }
            condition.unlock()
        }

        fileprivate func put(_ body: () -> Void) {
            condition.lock()
            body()
            condition.unlock()
        }
    }

    let rank: Int
    var size: Int { group.size }
    let group: Group
    /// Float sums so far (the gradients, a checkpoint's state).
    private(set) var floatCalls = 0

    init(rank: Int, group: Group) {
        self.rank = rank
        self.group = group
    }

    func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Float>) throws {
        floatCalls += 1
        sum(values, slots: \.floats)
    }

    func sumInRankOrder(_ values: UnsafeMutableBufferPointer<Double>) throws { sum(values, slots: \.doubles) }

    /// Every rank's buffer into its slot; then each rank adds the slots in rank order.
    private func sum<T: BinaryFloatingPoint>(_ values: UnsafeMutableBufferPointer<T>,
                                             slots: ReferenceWritableKeyPath<Group, [[T]]>) {
        group.put { group[keyPath: slots][rank] = Array(values) }
        group.barrier()
        let all = group[keyPath: slots]
        for i in values.indices {
            var s = all[0][i]
            for r in 1..<size { s += all[r][i] }
            values[i] = s
        }
        group.barrier()
    }

    /// Runs `body` on `size` threads, one per rank, and returns each rank's result in rank order.
    static func onRanks<T>(_ size: Int, _ body: @escaping (DataParallel) throws -> T) -> [Result<T, Error>] {
        let group = Group(size: size)
        let box = ResultSlots<T>(count: size)
        let done = DispatchGroup()
        let lock = NSLock()
        let work = UncheckedBox(body)
        for rank in 0..<size {
            done.enter()
            let thread = Thread {
                let result = Result { try work.value(DataParallel(communicator: ThreadCommunicator(rank: rank, group: group))) }
                lock.withLock { box.results[rank] = result }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return box.results.map { $0! }
    }
}

/// One result per rank, filled by the ranks' threads under a lock.
final class ResultSlots<T>: @unchecked Sendable {
    var results: [Result<T, Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
}

/// A value handed to another thread on the test's word that it is used safely there.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
