/// What a unidirectional stack did at each step of one sequence (batch 1): every layer's output
/// h_t and its cell's gate activations (`RecurrentCell.gates`), step after step — the values a
/// user looks at to see inside the network.
///
/// Shapes: `hidden` (T, L, O), O = `outputSize` (one layer's h_t: H, or an LSTM's projected
/// size); `gateValues` (T, L, G), G = `gateValueCount`, each row the gates' blocks in order.
/// The top layer's h_t is the stack's output y_t.
public struct RecurrentTrace: Sendable, Equatable {
    /// L.
    public let layers: Int
    /// O: the width of one layer's h_t.
    public let outputSize: Int
    /// The blocks of each row of `gateValues`, in order.
    public let gates: [CellGate]
    /// G: Σ of `gates`' widths.
    public let gateValueCount: Int
    /// T: the steps recorded so far.
    public private(set) var steps = 0
    /// h_t of every step and layer (T, L, O).
    public private(set) var hidden: [Float] = []
    /// The gate activations of every step and layer (T, L, G).
    public private(set) var gateValues: [Float] = []

    /// An empty trace for `stack`'s layers and gates.
    public init(stack: RecurrentStack) {
        layers = stack.layers
        outputSize = stack.layerOutputSize
        gates = stack.gates
        gateValueCount = stack.gateValueCount
    }

    /// Records one step of batch row `row`: each layer's h_t from `state` after the step, and the
    /// gate activations (L, B, G) that `RecurrentStack.step(…, gates:…)` wrote.
    public mutating func append(state: RecurrentState, gates values: UnsafePointer<Float>, row: Int = 0) {
        precondition(state.layers == layers && row >= 0 && row < state.batch, "a state of this trace's stack, row in 0..<B")
        let (b, s, g) = (state.batch, state.stateSize, gateValueCount)
        for l in 0..<layers {
            let start = (l * b + row) * s
            hidden.append(contentsOf: state.values[start..<(start + outputSize)])
            gateValues.append(contentsOf: UnsafeBufferPointer(start: values + (l * b + row) * g, count: g))
        }
        steps += 1
    }

    /// h_t of layer `layer` at step `step` (O values).
    public func hidden(step: Int, layer: Int) -> ArraySlice<Float> {
        let start = (step * layers + layer) * outputSize
        return hidden[start..<(start + outputSize)]
    }

    /// The gate `gate` (an index into `gates`) of layer `layer` at step `step` (its width's values).
    public func gate(_ gate: Int, step: Int, layer: Int) -> ArraySlice<Float> {
        let offset = gates[..<gate].reduce(0) { $0 + $1.width }
        let start = (step * layers + layer) * gateValueCount + offset
        return gateValues[start..<(start + gates[gate].width)]
    }

    /// The index in `gates` of the gate named `name`, if the cell has one.
    public func gateIndex(named name: String) -> Int? { gates.firstIndex { $0.name == name } }
}

extension RecurrentStack {
    /// Runs the stack over one sequence from a zero state, one streaming step at a time, and
    /// records every step (`RecurrentTrace`). The outputs are those of the whole-sequence `forward`.
    /// - Parameters:
    ///   - input: x (T, D).
    ///   - steps: T.
    /// - Throws: `RecurrentError.invalidArgument` for a bidirectional stack.
    public func trace(input x: UnsafePointer<Float>, steps: Int, arena: ParameterArena) throws -> RecurrentTrace {
        var trace = RecurrentTrace(stack: self)
        var state = RecurrentState(stack: self, batch: 1)
        let ws = StepWorkspace()
        var output = [Float](repeating: 0, count: outputSize)
        var gates = [Float](repeating: 0, count: layers * gateValueCount)
        for t in 0..<steps {
            try step(input: x + t * inputSize, state: &state, output: &output, gates: &gates, workspace: ws, arena: arena)
            trace.append(state: state, gates: gates)
        }
        return trace
    }
}
