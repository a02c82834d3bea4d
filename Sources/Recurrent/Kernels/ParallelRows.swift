import CRecurrentKernels

/// Splits rows 0..<rows into contiguous parts run on the kernels' thread pool, one call of `body`
/// per part: a recurrent layer's rows are independent through the whole time loop, so each part
/// can run every step of its own rows with one synchronisation per sequence instead of two per
/// step. Part boundaries depend only on `rows` and the part count, and every row is computed by
/// the same operations in any part (the kernels' rows do not depend on the batch size), so the
/// results do not depend on the split.
enum ParallelRows {
    /// Flops a part must keep for a split to pay (waking a worker and joining it costs
    /// microseconds). Tests set 0 to split every batch as finely as the threads allow.
    nonisolated(unsafe) static var minimumWork: Double = 2e6

    /// Parts for `rows` rows costing about `workPerRow` flops each: one per thread while every
    /// part keeps at least `minimumWork`.
    static func parts(rows: Int, workPerRow: Double) -> Int {
        let threads = Int(rk_threads())
        guard threads > 1, rows > 1 else { return 1 }
        let byWork = minimumWork > 0 ? Int(Double(rows) * workPerRow / minimumWork) : rows
        return max(1, min(threads, rows, byWork))
    }

    /// Calls `body(r0, r1)` for each of `parts` ranges of rows, concurrently. Allocates nothing:
    /// the unit-split step calls it once a time step.
    static func run(rows: Int, parts: Int, _ body: (_ r0: Int, _ r1: Int) -> Void) {
        guard parts > 1 else {
            body(0, rows)
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(rows: rows, body: body)
            // The job lives on this stack frame until every part has returned.
            withUnsafeMutablePointer(to: &job) { pointer in
                rk_parallel_parts(Int32(parts), { context, part, parts in
                    let job = context!.assumingMemoryBound(to: Job.self)
                    let (t, n) = (Int(part), Int(parts))
                    job.pointee.body(job.pointee.rows * t / n, job.pointee.rows * (t + 1) / n)
                }, pointer)
            }
        }
    }

    private struct Job {
        let rows: Int
        let body: (Int, Int) -> Void
    }
}
