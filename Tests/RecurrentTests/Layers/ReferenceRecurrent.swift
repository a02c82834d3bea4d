import Foundation
@testable import Recurrent
@testable import RecurrentApps

/// A plain, slow, Double-precision implementation of PyTorch's recurrent modules, one row at
/// a time, straight from the formulas: the reference the fast stack is compared with.
struct ReferenceRecurrent {
    let kind: CellKind
    let layers: Int
    let directions: Int
    let hidden: Int
    /// weights[l·dirs + d] = (W_ih (G·H, D), W_hh (G·H, H), b_ih, b_hh) as Double rows.
    let weights: [(wih: [[Double]], whh: [[Double]], bih: [Double], bhh: [Double])]
    /// The layer-normalised cells' gains and biases by name without prefix and layer
    /// ("ln_ih_weight", "bias", ...), per l·dirs + d.
    let normalization: [[String: [Double]]]

    init(stack: RecurrentStack, arena: ParameterArena, prefix: String = "rnn") {
        kind = stack.kind
        layers = stack.layers
        directions = stack.directions
        hidden = stack.hiddenSize
        var w: [(wih: [[Double]], whh: [[Double]], bih: [Double], bhh: [Double])] = []
        var normalization: [[String: [Double]]] = []
        for l in 0..<stack.layers {
            for d in 0..<stack.directions {
                let names = RecurrentParameterNames(prefix: prefix, layer: l, suffix: d == 1 ? "_reverse" : "")
                func rows(_ name: String) -> [[Double]] {
                    let m = arena.matrix(arena[name]!)
                    return (0..<m.rows).map { m.row($0).map(Double.init) }
                }
                func vec(_ name: String) -> [Double] { arena[name].map { arena.matrix($0).scalars.map(Double.init) } ?? [] }
                // minGRU and minLSTM have no W_hh or b_hh: their gates read x_t only.
                let hasRecurrentWeight = arena[names.weightHH] != nil
                w.append((rows(names.weightIH), hasRecurrentWeight ? rows(names.weightHH) : [],
                          vec(names.biasIH), vec(names.biasHH)))
                var extra: [String: [Double]] = [:]
                for base in ["ln_ih_weight", "ln_hh_weight", "bias", "ln_c_weight", "ln_c_bias"] {
                    extra[base] = vec("\(prefix).\(base)_l\(l)\(d == 1 ? "_reverse" : "")")
                }
                normalization.append(extra)
            }
        }
        weights = w
        self.normalization = normalization
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// LN(v; γ, β) over all of v, ε = 1e-5, the variance biased.
    static func layerNorm(_ v: [Double], gain: [Double], bias: [Double]? = nil) -> [Double] {
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
        return v.indices.map { gain[$0] * (v[$0] - mean) / (variance + 1e-5).squareRoot() + (bias?[$0] ?? 0) }
    }

    /// One cell step: (h, c) → (h', c'); c is unused except by the LSTMs.
    func cell(_ w: (wih: [[Double]], whh: [[Double]], bih: [Double], bhh: [Double]), x: [Double], h: [Double],
              c: [Double], normalization ln: [String: [Double]] = [:]) -> (h: [Double], c: [Double]) {
        let n = hidden
        func affine(_ m: [[Double]], _ b: [Double], _ v: [Double]) -> [Double] {
            m.indices.map { i in (b.isEmpty ? 0 : b[i]) + zip(m[i], v).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        switch kind {
        case .lnlstm:   // a = LN(W_ih x) + LN(W_hh h) + b; h' = o tanh(LN(c'))
            let a0 = Self.layerNorm(affine(w.wih, [], x), gain: ln["ln_ih_weight"]!)
            let a1 = Self.layerNorm(affine(w.whh, [], h), gain: ln["ln_hh_weight"]!)
            let a = a0.indices.map { a0[$0] + a1[$0] + ln["bias"]![$0] }
            let c2 = (0..<n).map { j in Self.sigmoid(a[n + j]) * c[j] + Self.sigmoid(a[j]) * Foundation.tanh(a[2 * n + j]) }
            let normalized = Self.layerNorm(c2, gain: ln["ln_c_weight"]!, bias: ln["ln_c_bias"]!)
            return ((0..<n).map { j in Self.sigmoid(a[3 * n + j]) * Foundation.tanh(normalized[j]) }, c2)
        case .lngru:    // u = LN(W_ih x) + b_ih, v = LN(W_hh h) + b_hh, then PyTorch's GRU on u and v
            let u0 = Self.layerNorm(affine(w.wih, [], x), gain: ln["ln_ih_weight"]!)
            let v0 = Self.layerNorm(affine(w.whh, [], h), gain: ln["ln_hh_weight"]!)
            let u = u0.indices.map { u0[$0] + w.bih[$0] }, v = v0.indices.map { v0[$0] + w.bhh[$0] }
            return ((0..<n).map { j in
                let r = Self.sigmoid(u[j] + v[j]), z = Self.sigmoid(u[n + j] + v[n + j])
                return (1 - z) * Foundation.tanh(u[2 * n + j] + r * v[2 * n + j]) + z * h[j]
            }, c)
        default: break
        }
        let gi = affine(w.wih, w.bih, x)
        // Feng et al. 2024: g(v) = v + 1/2 for v >= 0, sigmoid(v) below (appendix B.3).
        func g(_ v: Double) -> Double { v >= 0 ? v + 0.5 : Self.sigmoid(v) }
        switch kind {
        case .mingru:   // z = σ(W_z x + b_z), h̃ = g(W_h x + b_h), h' = (1 − z) h + z h̃
            return ((0..<n).map { j in
                let z = Self.sigmoid(gi[j])
                return (1 - z) * h[j] + z * g(gi[n + j])
            }, c)
        case .minlstm:  // f, i = σ(·), h̃ = g(·), h' = (f h + i h̃) / (f + i)
            return ((0..<n).map { j in
                let f = Self.sigmoid(gi[j]), i = Self.sigmoid(gi[n + j])
                return f / (f + i) * h[j] + i / (f + i) * g(gi[2 * n + j])
            }, c)
        default: break
        }
        let gh = affine(w.whh, w.bhh, h)
        switch kind {
        case .rnnTanh: return ((0..<n).map { Foundation.tanh(gi[$0] + gh[$0]) }, c)
        case .rnnRelu: return ((0..<n).map { max(gi[$0] + gh[$0], 0) }, c)
        case .lstm:
            var h2 = [Double](repeating: 0, count: n), c2 = h2
            for j in 0..<n {
                let i = Self.sigmoid(gi[j] + gh[j]), f = Self.sigmoid(gi[n + j] + gh[n + j])
                let g = Foundation.tanh(gi[2 * n + j] + gh[2 * n + j]), o = Self.sigmoid(gi[3 * n + j] + gh[3 * n + j])
                c2[j] = f * c[j] + i * g
                h2[j] = o * Foundation.tanh(c2[j])
            }
            return (h2, c2)
        case .gru:
            var h2 = [Double](repeating: 0, count: n)
            for j in 0..<n {
                let r = Self.sigmoid(gi[j] + gh[j]), z = Self.sigmoid(gi[n + j] + gh[n + j])
                let nn = Foundation.tanh(gi[2 * n + j] + r * gh[2 * n + j])
                h2[j] = (1 - z) * nn + z * h[j]
            }
            return (h2, c)
        default:
            preconditionFailure("no reference for the \(kind) cell")
        }
    }

    /// Runs one row: x (T, D) of which the first `length` steps are valid; states[l·dirs + d]
    /// = (h, c). Returns y (T, dirs·H) with zeros past the end, and the final states.
    func run(x: [[Double]], length: Int, states: [(h: [Double], c: [Double])])
        -> (y: [[Double]], states: [(h: [Double], c: [Double])]) {
        let t = x.count
        var input = x
        var finals = states
        for l in 0..<layers {
            var out = [[Double]](repeating: [Double](repeating: 0, count: directions * hidden), count: t)
            for d in 0..<directions {
                let index = l * directions + d
                var (h, c) = states[index]
                let order = d == 0 ? Array(0..<length) : Array((0..<length).reversed())
                for s in order {
                    (h, c) = cell(weights[index], x: input[s], h: h, c: c, normalization: normalization[index])
                    for j in 0..<hidden { out[s][d * hidden + j] = h[j] }
                }
                finals[index] = (h, c)
            }
            input = out
        }
        return (input, finals)
    }
}
