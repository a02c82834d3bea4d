import XCTest
import CRecurrentKernels

/// What every kernel test class needs: each ISA path this CPU has, and a thread count, both
/// restored afterwards.
protocol KernelPathTesting {}

extension KernelPathTesting {
    /// The ISA paths this CPU can run, as rk_set_isa arguments.
    static var paths: [Int32] { (0..<4).map { Int32($0) }.filter { rk_isa_available($0) != 0 } }

    /// Runs `body` once per available path, restoring the active path afterwards.
    func forEachPath(_ body: (Int32) throws -> Void) rethrows {
        let original = rk_active_isa()
        defer { XCTAssertEqual(rk_set_isa(original), 0) }
        for isa in Self.paths {
            XCTAssertEqual(rk_set_isa(isa), 0)
            XCTAssertEqual(rk_active_isa(), isa)
            try body(isa)
        }
    }

    /// Runs `body` with the given thread count, restoring the configured count afterwards.
    func withThreads<T>(_ n: Int32, _ body: () throws -> T) rethrows -> T {
        let original = rk_threads()
        defer { rk_set_threads(original) }
        rk_set_threads(n)
        return try body()
    }
}
