import CRecurrentKernels

/// Layer normalisation of one vector (Ba et al. 2016) without its gain and bias, which the
/// layer-normalised cells apply themselves: x̂ = (v − mean v) / √(var v + ε), over all of v,
/// the variance biased (divided by n), ε = 1e-5 as PyTorch's `nn.LayerNorm`.
enum LayerNormalization {
    static let epsilon: Float = 1e-5

    /// Writes x̂ (n) and returns 1/√(var + ε). Two passes over v: the mean, then the variance
    /// of the deviations (no cancellation when the mean is large).
    static func normalize(_ v: UnsafePointer<Float>, count n: Int, into xhat: UnsafeMutablePointer<Float>) -> Float {
        let mean = sum(v, count: n) / Float(n)
        for j in 0..<n { xhat[j] = v[j] - mean }
        let rstd = 1 / (dot(xhat, xhat, count: n) / Float(n) + epsilon).squareRoot()
        for j in 0..<n { xhat[j] *= rstd }
        return rstd
    }

    /// ∂v (n), written (it may be ∂x̂ itself), from ∂x̂ (n): rstd·(∂x̂ − mean(∂x̂) − x̂·mean(∂x̂ ⊙ x̂)).
    static func backward(_ dxhat: UnsafePointer<Float>, xhat: UnsafePointer<Float>, rstd: Float, count n: Int,
                         into dv: UnsafeMutablePointer<Float>) {
        let (meanG, meanGX) = (sum(dxhat, count: n) / Float(n), dot(dxhat, xhat, count: n) / Float(n))
        for j in 0..<n { dv[j] = rstd * (dxhat[j] - meanG - xhat[j] * meanGX) }
    }

    /// Σ x over n values, in 16 lanes at once (a running scalar sum waits on every add).
    static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var lanes = SIMD16<Float>()
        var j = 0
        while j + 16 <= n {
            lanes += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
            j += 16
        }
        var total = lanes.sum()
        while j < n { total += x[j]; j += 1 }
        return total
    }

    /// Σ x ⊙ y over n values, in 16 lanes at once.
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var lanes = SIMD16<Float>()
        var j = 0
        while j + 16 <= n {
            lanes += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(y + j).loadUnaligned(as: SIMD16<Float>.self)
            j += 16
        }
        var total = lanes.sum()
        while j < n { total += x[j] * y[j]; j += 1 }
        return total
    }

    /// y = σ(x) (`sigmoid`) or tanh(x) over n values, vectorised.
    static func sigmoid(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        rk_map(Int32(RK_MAP_SIGMOID), n, x, y)
    }

    static func tanh(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>) {
        rk_map(Int32(RK_MAP_TANH), n, x, y)
    }
}

/// The parameters of a layer-normalised gated cell, registered under PyTorch-style names:
/// `weight_ih_l{k}` (G·H, D) and `weight_hh_l{k}` (G·H, H) as PyTorch's, and the normalisations'
/// gains `ln_ih_weight_l{k}` and `ln_hh_weight_l{k}` (G·H), which start at 1.
struct NormalizedGateParameters {
    let inputWeight, recurrentWeight, inputGain, recurrentGain: Parameter

    init(prefix: String, layer: Int, suffix: String, gates: Int, inputSize: Int, hiddenSize: Int,
         initialization: RecurrentInitialization, layout: inout ParameterLayout) {
        let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
        let inits = initialization.initializers(hiddenSize: hiddenSize, gates: gates, forgetGate: nil)
        let g = gates * hiddenSize
        inputWeight = layout.add(names.weightIH, rows: g, cols: inputSize, initializer: inits.inputWeight)
        recurrentWeight = layout.add(names.weightHH, rows: g, cols: hiddenSize, initializer: inits.recurrentWeight)
        inputGain = layout.add(Self.name("ln_ih_weight", prefix, layer, suffix), rows: g, initializer: .constant(1))
        recurrentGain = layout.add(Self.name("ln_hh_weight", prefix, layer, suffix), rows: g, initializer: .constant(1))
    }

    /// `{prefix}.{base}_l{layer}{suffix}`.
    static func name(_ base: String, _ prefix: String, _ layer: Int, _ suffix: String) -> String {
        (prefix.isEmpty ? "" : prefix + ".") + "\(base)_l\(layer)\(suffix)"
    }
}
