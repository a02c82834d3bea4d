import CRecurrentKernels
import Foundation

/// Small elementwise and reduction loops shared by the layers. The bias loops run in the C
/// kernels (vectorised, the same order of additions per element as the scalar loops).
package enum Elementwise {
    @inline(__always)
    package static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// sums[j] += Σ_i x[i·ld + j] over rows i < rows, for j < cols (a bias gradient).
    @inline(__always)
    package static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                              into sums: UnsafeMutablePointer<Float>) {
        rk_column_sums(rows, cols, x, ld, sums)
    }

    /// y[i·ldy + j] += b[j]: broadcast a bias over rows.
    @inline(__always)
    package static func addBias(_ b: UnsafePointer<Float>, rows: Int, cols: Int,
                        to y: UnsafeMutablePointer<Float>, ld: Int) {
        rk_add_bias(rows, cols, b, y, ld)
    }

    /// Copies a (rows, cols) block between strided buffers.
    @inline(__always)
    static func copy(_ x: UnsafePointer<Float>, ldx: Int, to y: UnsafeMutablePointer<Float>, ldy: Int,
                     rows: Int, cols: Int) {
        for i in 0..<rows { (y + i * ldy).update(from: x + i * ldx, count: cols) }
    }
}
