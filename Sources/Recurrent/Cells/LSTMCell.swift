import CRecurrentKernels

/// Long short-term memory (Hochreiter & Schmidhuber 1997) with PyTorch's semantics:
///
///     i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o),   a = W_ih·x + b_ih + W_hh·h_{t−1} + b_hh
///     c_t = f ⊙ c_{t−1} + i ⊙ g
///     h_t = o ⊙ tanh(c_t)
///
/// Parameters, PyTorch's names and layout, gate order i, f, g, o (G = 4):
/// `weight_ih_l{k}` (4H, D), `weight_hh_l{k}` (4H, H), `bias_ih_l{k}` (4H), `bias_hh_l{k}` (4H).
/// State per row: [h | c] (S = 2H); output h.
///
/// With projections (`nn.LSTM(proj_size: P)`, Sak et al. 2014), h_t = W_hr·(o ⊙ tanh(c_t)) has P < H
/// values: `weight_hr_l{k}` (P, H), `weight_hh_l{k}` (4H, P), the state [h | c] of P + H values
/// and the output h (P). The unroller owns the product (`outputProjection`).
public struct LSTMCell: RecurrentCell {
    public let inputSize: Int
    public let hiddenSize: Int
    public let inputWeight: Parameter
    public let inputBias: Parameter?
    public let recurrentWeight: Parameter
    public let recurrentBias: Parameter
    /// W_hr (P, H), with projections.
    public let outputProjection: Parameter?
    /// h's width: P with projections, else H (kept apart from W_hr, whose name a read would copy).
    public let outputSize: Int
    private let projects: Bool

    public var stateSize: Int { outputSize + hiddenSize }
    public var projectionSize: Int { 4 * hiddenSize }
    /// i, f, g, o and tanh(c_t).
    public var cacheSize: Int { 5 * hiddenSize }
    /// With projections, a row of zeros: the step's ∂h from later steps, which the unroller has
    /// folded into ∂m.
    public var scratchSize: Int { projects ? hiddenSize : 0 }

    /// Registers the parameters under `prefix` with the names PyTorch gives layer `layer`
    /// (`suffix` "_reverse" for the backward direction of a bidirectional layer).
    /// - Parameter projectedSize: P, h's width with projections (1..<H); nil for none.
    public init(_ prefix: String, inputSize: Int, hiddenSize: Int, projectedSize: Int? = nil, layer: Int = 0,
                suffix: String = "", initialization: RecurrentInitialization = .pytorch, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        outputSize = projectedSize ?? hiddenSize
        projects = projectedSize != nil
        let p = GateParameters(prefix: prefix, layer: layer, suffix: suffix, gates: 4, forgetGate: 1, inputSize: inputSize,
                               hiddenSize: hiddenSize, recurrentInputs: projectedSize, initialization: initialization,
                               layout: &layout)
        (inputWeight, recurrentWeight, inputBias, recurrentBias) = (p.inputWeight, p.recurrentWeight, p.inputBias, p.recurrentBias)
        outputProjection = projectedSize.map { size in
            let names = RecurrentParameterNames(prefix: prefix, layer: layer, suffix: suffix)
            return layout.add(names.weightHR, rows: size, cols: hiddenSize,
                              initializer: initialization.outputProjectionInitializer(hiddenSize: hiddenSize))
        }
    }

    /// W_hh added onto the projection: a = p + h_{t−1}·W_hhᵀ; b_hh is added by the step.
    public var recurrence: Recurrence? { Recurrence(weight: recurrentWeight, bias: recurrentBias, product: .added) }

    /// The element-wise step forward (see `RecurrentCell`): gates i, f, g, o from a = p + q + b_hh,
    /// then c and h.
    public func forward(projection a: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                        recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                        previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                        batch: Int, arena: ParameterArena) {
        let (h, o, s) = (hiddenSize, outputSize, stateSize)
        // Gates, c_t, h_t and the cache in one fused pass (vectorised σ and tanh). With projections
        // h_t here is m_t, written to the output only: the unroller projects it into the state.
        let hState = projects ? output : state
        let ldh = projects ? ldy : s
        rk_lstm_forward(batch, h, a, lda, arena.value(recurrentBias), previous + o, s,
                        hState, ldh, state + o, s, output, ldy, cache, 5 * h)
    }

    /// Four gates a unit steps alone (see `RecurrentCell.unitGates`); not with projections, whose
    /// h mixes every unit.
    public var unitGates: Int? { projects ? nil : 4 }

    /// The step of `units` on gathered blocks (see `RecurrentCell.forward(units:…)`): the same
    /// kernel as `forward`, with U for H, so each unit gets the bits `forward` gives it.
    public func forward(units: Range<Int>, gates a: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>?,
                        bias: UnsafePointer<Float>?, previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride ldy: Int,
                        cache: UnsafeMutablePointer<Float>, batch: Int) {
        let (u, j, h, s) = (units.count, units.lowerBound, hiddenSize, stateSize)
        rk_lstm_forward(batch, u, a, 4 * u, bias!, previous + h + j, s, state + j, s, state + h + j, s, output + j, ldy,
                        cache, 5 * u)
    }

    /// The element-wise step backward (see `RecurrentCell`), the reverse of `forward`: ∂a from
    /// ∂h = ∂y + ∂h_t and ∂c_t; ∂c_{t−1} = ∂c·f replaces ∂c_t in place, and h_{t−1} reaches the
    /// loss only through W_hh, so its direct part is zero.
    public func backward(projectionGradient da: UnsafeMutablePointer<Float>, projectionStride lda: Int,
                         recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                         previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         outputGradient dy: UnsafePointer<Float>, outputStride ldy: Int,
                         cache: UnsafePointer<Float>, stateGradient ds: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena) {
        let (h, o, s) = (hiddenSize, outputSize, stateSize)
        if !projects {
            rk_lstm_backward(batch, h, da, lda, dy, ldy, ds, s, ds + o, s, cache, 5 * h, previous + o, s)
        } else {
            // dy is ∂m with the state's ∂h already in it: the kernel's ∂h is one row of zeros.
            scratch.update(repeating: 0, count: h)
            rk_lstm_backward(batch, h, da, lda, dy, ldy, scratch, 0, ds + o, s, cache, 5 * h, previous + o, s)
        }
        for r in 0..<batch { (ds + r * s).update(repeating: 0, count: o) }
    }

    /// i, f, g, o (H each) from the cache, and the cell state c_t (H) from the state.
    public var gates: [CellGate] {
        CellGate.lstm(hiddenSize: hiddenSize)
    }

    /// i, f, g, o as the step cached them, then c_t.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {
        gates.update(from: cache, count: 4 * hiddenSize)
        (gates + 4 * hiddenSize).update(from: state + outputSize, count: hiddenSize)
    }
}

extension LSTMCell {
    /// `lstm`: PyTorch's nn.LSTM cell, with projections when the shape asks for them.
    public static let registration = CellRegistration(name: "lstm", projects: true) { s, layout in
        LSTMCell(s.prefix, inputSize: s.inputSize, hiddenSize: s.hiddenSize, projectedSize: s.projectedSize, layer: s.layer,
                 suffix: s.suffix, initialization: s.initialization, layout: &layout)
    }
}
