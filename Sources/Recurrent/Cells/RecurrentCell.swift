/// One step of a recurrent network, h_t = f_W(h_{t−1}, x_t), with the same weights at every
/// step. `RecurrentLayer` unrolls any cell over a sequence; `RecurrentStack.step` streams one.
///
/// The contract: a cell declares its sizes, its parameters and an element-wise step forward
/// and backward; the unroller owns every matrix product and every way the weights are stored
/// (float32 as they are or packed for the GEMM kernel, bf16, int8). Per step:
///
///     p_t = x_t·W_ihᵀ + b_ih                       (all B·T rows in one GEMM, before the loop)
///     q_t = s_{t−1}[0..<K]·W_hhᵀ                   (the recurrent product, K = W_hh's columns)
///     the cell's step: (p_t, q_t, s_{t−1}) → (s_t, y_t)
///
/// How q_t reaches the step is the cell's `Recurrence.product`: added onto p_t (LSTM, vanilla
/// RNN) or handed over apart (GRU, whose candidate gate needs r ⊙ (W_hn·h + b_hn)). Backward,
/// the step returns ∂p_t (and ∂q_t when apart); the unroller adds ∂q_t·W_hh to ∂s_{t−1} and, after
/// the time loop, ∂W_hh += Σ_t ∂q_tᵀ·s_{t−1}[0..<K] and ∂b_hh += Σ ∂q_t over all B·T rows at once.
///
/// Letters: B batch, D input, H output (hidden) width, S state width (H for RNN and GRU, 2H
/// for LSTM), P projection width (G·H for G gates). Per-step blocks are row-strided: row b of
/// a block starts at `base + b·stride`.
public protocol RecurrentCell: Sendable {
    /// D.
    var inputSize: Int { get }
    /// H: the width of each step's output.
    var outputSize: Int { get }
    /// S: the width of the state carried between steps.
    var stateSize: Int { get }
    /// P: the width of the input projection (and of the recurrent product).
    var projectionSize: Int { get }
    /// Scalars per batch row that `forward` keeps for `backward`, besides the states.
    var cacheSize: Int { get }
    /// Scalars per batch row of scratch that either pass may overwrite (in backward, past the
    /// step parameters' gradient sums; see `stepParameters`).
    var scratchSize: Int { get }
    /// W_ih (P, D).
    var inputWeight: Parameter { get }
    /// b_ih (P), if the cell has one.
    var inputBias: Parameter? { get }
    /// The recurrent weight and how its product reaches the step; nil for a cell whose step
    /// reads the previous state only element-wise (or not at all).
    var recurrence: Recurrence? { get }
    /// Whether `backward` leaves the arena alone, so the unroller may run parts of the batch
    /// concurrently (true unless the cell writes gradients itself).
    var backwardIsRowParallel: Bool { get }
    /// Parameters the element-wise step applies itself (a layer norm's gains and biases); empty
    /// for most cells. In `backward` their gradients accumulate per batch row in the first
    /// Σ counts values of that row's scratch, in this order: the unroller zeroes them before the
    /// time loop and adds them to the arena after it, row by row in row order — so the rows can
    /// run in parallel and the bits do not depend on how they were split.
    var stepParameters: [Parameter] { get }
    /// Whether the step is linear in the state with coefficients from the input alone,
    /// s_t = a_t ⊙ s_{t−1} + b_t and y_t = s_t (S = H), (a_t, b_t) from p_t: minGRU, minLSTM. The
    /// unroller then runs a whole sequence as a scan over time (`scanCoefficients`) instead of
    /// step by step; the two agree to rounding.
    var isLinearInState: Bool { get }
    /// W_hr (O, M) when the step's output is projected (LSTM with projections, Sak et al. 2014):
    /// the step then writes m_t (B, M) where `output` points, and the unroller makes the layer's
    /// output and the state's first O values h_t = m_t·W_hrᵀ (O = `outputSize`). Nil for most cells.
    var outputProjection: Parameter? { get }
    /// The blocks `gateActivations` writes per row, in order (empty: the cell shows none).
    var gates: [CellGate] { get }

    /// The gate activations of one batch row after `forward`, read off (or recomputed from) what
    /// that step left: `cache` (cacheSize), `previous` and `state` (S) of that row. Writes
    /// Σ `gates`' widths values to `gates`, block after block in the order of `gates`. Nothing the
    /// step computes depends on it; a cell whose cache keeps normalised products recomputes its
    /// gates in Swift, equal to the kernel's to rounding.
    func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                         arena: ParameterArena, into gates: UnsafeMutablePointer<Float>)

    /// For a cell linear in its state: a and b (R, S) from p (R, P) for R rows at once (the whole
    /// B·T of a sequence), keeping in `cache` (R, cacheSize) what `scanCoefficientsBackward` needs.
    func scanCoefficients(projection: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                          b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>)
    /// ∂p (R, P), written, from ∂a and ∂b (R, S) and the cache of `scanCoefficients`.
    func scanCoefficientsBackward(aGradient: UnsafePointer<Float>, bGradient: UnsafePointer<Float>,
                                  cache: UnsafePointer<Float>, rows: Int, projectionGradient: UnsafeMutablePointer<Float>)

    /// One step forward for B rows.
    /// - Parameters:
    ///   - projection: p_t (B, P), stride `projectionStride`, with q_t already added when the
    ///     product is `.added`; the cell may overwrite it with its pre-activations.
    ///   - recurrent: q_t (B, P), stride `recurrentStride`, when the product is `.apart`; else nil.
    ///   - previous: state_{t−1} (B, S), contiguous.
    ///   - state: state_t (B, S), contiguous, written.
    ///   - output: y_t (B, H), stride `outputStride`, written (m_t (B, M) with an `outputProjection`).
    ///   - cache: (B, cacheSize), written.
    ///   - scratch: (B, scratchSize).
    func forward(projection: UnsafeMutablePointer<Float>, projectionStride: Int,
                 recurrent: UnsafePointer<Float>?, recurrentStride: Int,
                 previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride: Int,
                 cache: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                 batch: Int, arena: ParameterArena)

    /// G when the step of hidden unit j reads only its own pre-activations a[g·H + j] (g < G; a =
    /// p + q when the product is `.added`, p and q apart when it is `.apart`), its own values of
    /// the state and of b_hh, and writes only its own values of the state, the output and the
    /// cache (cacheSize = C·H, C blocks of H): then parts of the units can step at the same time,
    /// each after its own slice of the recurrent product (`forward(units:…)`), and only h crosses
    /// between them. Nil when units meet within a step (layer norm, an output projection).
    var unitGates: Int? { get }

    /// The step for the hidden units `units` (U of them) of B rows, on gathered blocks.
    /// - Parameters:
    ///   - gates: a = p + q of those units (B, G·U), or p alone when the product is `.apart`,
    ///     contiguous, gate block after gate block (the cell may overwrite it, as `forward` may
    ///     overwrite p).
    ///   - recurrent: q of those units gathered the same way (B, G·U) when the product is
    ///     `.apart`; else nil.
    ///   - bias: b_hh of those units gathered the same way (G·U), or nil when the cell has none.
    ///   - previous, state: state_{t−1} and state_t (B, S), as in `forward` (whole rows; only these
    ///     units' values are read and written).
    ///   - output: y_t (B, H), stride `outputStride`: only these units' values are written.
    ///   - cache: (B, C·U), contiguous, written block after block as `forward` writes its C blocks.
    func forward(units: Range<Int>, gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>?,
                 bias: UnsafePointer<Float>?, previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                 output: UnsafeMutablePointer<Float>, outputStride: Int,
                 cache: UnsafeMutablePointer<Float>, batch: Int)

    /// Backward of `forward`, same argument order.
    /// - Parameters:
    ///   - projectionGradient: ∂L/∂p_t (B, P), stride `projectionStride`, written (for `.added`
    ///     it is also ∂L/∂q_t).
    ///   - recurrentGradient: ∂L/∂q_t (B, P), stride `recurrentStride`, written when the product
    ///     is `.apart`; else nil.
    ///   - previous, state, cache: as `forward` left them.
    ///   - stateGradient: on entry ∂L/∂state_t from later steps (B, S); on return the part of
    ///     ∂L/∂state_{t−1} that does not pass through W_hh (zero where none does): the unroller
    ///     adds ∂q_t·W_hh to its first K columns.
    ///   - outputGradient: ∂L/∂y_t (B, H), stride `outputStride` (∂L/∂m_t (B, M) with an
    ///     `outputProjection`, the state gradient's first O values then being the unroller's, zero).
    func backward(projectionGradient: UnsafeMutablePointer<Float>, projectionStride: Int,
                  recurrentGradient: UnsafeMutablePointer<Float>?, recurrentStride: Int,
                  previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                  outputGradient: UnsafePointer<Float>, outputStride: Int,
                  cache: UnsafePointer<Float>, stateGradient: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, batch: Int, arena: ParameterArena)
}

extension RecurrentCell {
    public var backwardIsRowParallel: Bool { true }
    public var stepParameters: [Parameter] { [] }
    public var isLinearInState: Bool { false }
    public var outputProjection: Parameter? { nil }
    /// None, unless the cell says otherwise.
    public var gates: [CellGate] { [] }
    /// Units meet within the step, unless the cell says otherwise.
    public var unitGates: Int? { nil }

    /// Only a cell with `unitGates` steps a range of units.
    public func forward(units: Range<Int>, gates: UnsafeMutablePointer<Float>, recurrent: UnsafePointer<Float>?,
                        bias: UnsafePointer<Float>?, previous: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                        output: UnsafeMutablePointer<Float>, outputStride: Int,
                        cache: UnsafeMutablePointer<Float>, batch: Int) {
        preconditionFailure("\(Self.self) has no unit-split step")
    }

    /// Nothing to write for a cell without `gates`.
    public func gateActivations(cache: UnsafePointer<Float>, previous: UnsafePointer<Float>, state: UnsafePointer<Float>,
                                arena: ParameterArena, into gates: UnsafeMutablePointer<Float>) {}

    /// Only a cell linear in its state has scan coefficients.
    public func scanCoefficients(projection: UnsafePointer<Float>, rows: Int, a: UnsafeMutablePointer<Float>,
                                 b: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>) {
        preconditionFailure("\(Self.self) is not linear in its state: the unroller steps it")
    }

    /// Only a cell linear in its state has scan coefficients.
    public func scanCoefficientsBackward(aGradient: UnsafePointer<Float>, bGradient: UnsafePointer<Float>,
                                         cache: UnsafePointer<Float>, rows: Int, projectionGradient: UnsafeMutablePointer<Float>) {
        preconditionFailure("\(Self.self) is not linear in its state: the unroller steps it")
    }
}

/// A cell's recurrent weight W_hh (P, K), which multiplies the first K values of each state
/// row, its bias b_hh (P), which the step adds to the product, and how the product reaches the
/// step.
public struct Recurrence: Sendable, Equatable {
    public enum Product: Sendable, Equatable {
        /// Added onto the step's input projection: a_t = p_t + q_t (LSTM, vanilla RNN).
        case added
        /// Handed to the step apart from p_t (GRU).
        case apart
    }

    public let weight: Parameter
    public let bias: Parameter?
    public let product: Product

    /// W_hh (P, K), its bias b_hh (P) if any, and how q reaches the step.
    public init(weight: Parameter, bias: Parameter?, product: Product) {
        self.weight = weight
        self.bias = bias
        self.product = product
    }

    /// K: the state values the product reads.
    public var inputSize: Int { weight.cols }
}
