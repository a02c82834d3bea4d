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

    init(stack: RecurrentStack, arena: ParameterArena, prefix: String = "rnn") {
        kind = stack.kind
        layers = stack.layers
        directions = stack.directions
        hidden = stack.hiddenSize
        var w: [(wih: [[Double]], whh: [[Double]], bih: [Double], bhh: [Double])] = []
        for l in 0..<stack.layers {
            for d in 0..<stack.directions {
                let names = RecurrentParameterNames(prefix: prefix, layer: l, suffix: d == 1 ? "_reverse" : "")
                func rows(_ name: String) -> [[Double]] {
                    let m = arena.matrix(arena[name]!)
                    return (0..<m.rows).map { m.row($0).map(Double.init) }
                }
                func vec(_ name: String) -> [Double] { arena.matrix(arena[name]!).scalars.map(Double.init) }
                // minGRU and minLSTM have no W_hh or b_hh: their gates read x_t only.
                let hasRecurrentWeight = arena[names.weightHH] != nil
                w.append((rows(names.weightIH), hasRecurrentWeight ? rows(names.weightHH) : [],
                          vec(names.biasIH), hasRecurrentWeight ? vec(names.biasHH) : []))
            }
        }
        weights = w
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// One cell step: (h, c) → (h', c'); c is unused except by the LSTM.
    func cell(_ w: (wih: [[Double]], whh: [[Double]], bih: [Double], bhh: [Double]), x: [Double], h: [Double],
              c: [Double]) -> (h: [Double], c: [Double]) {
        let n = hidden
        func affine(_ m: [[Double]], _ b: [Double], _ v: [Double]) -> [Double] {
            m.indices.map { i in b[i] + zip(m[i], v).reduce(0) { $0 + $1.0 * $1.1 } }
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
                    (h, c) = cell(weights[index], x: input[s], h: h, c: c)
                    for j in 0..<hidden { out[s][d * hidden + j] = h[j] }
                }
                finals[index] = (h, c)
            }
            input = out
        }
        return (input, finals)
    }
}
