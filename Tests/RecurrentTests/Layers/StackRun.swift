import Foundation
@testable import Recurrent

/// A two-layer stack's forward and backward on seeded random data: what tests that compare two
/// ways of running the same stack (the scan, the unit split) check bit for bit or to rounding.
struct StackRun: Equatable {
    var y: [Float], sT: [Float], gradients: [Float], dx: [Float], ds0: [Float]

    /// Runs a stack of `kind` (2 layers, H = `hidden`, D = `input`) on B × T steps with
    /// `lengths`; arena and data drawn from `seed` … `seed` + 4.
    init(_ kind: CellKind, hidden h: Int, input d: Int, batch b: Int, steps t: Int, bidirectional: Bool,
         lengths: [Int32]?, seed: UInt64) throws {
        var layout = ParameterLayout()
        let stack = try RecurrentStack(kind: kind, inputSize: d, hiddenSize: h, layers: 2, bidirectional: bidirectional,
                                       layout: &layout)
        let arena = ParameterArena(layout: layout, seed: seed)
        let x = randomArray(b * t * d, seed: seed + 1), s0 = randomArray(stack.stateCount(batch: b), seed: seed + 2, scale: 0.5)
        let dy = randomArray(b * t * stack.outputSize, seed: seed + 3), dsT = randomArray(stack.stateCount(batch: b), seed: seed + 4)
        var y = [Float](repeating: 0, count: b * t * stack.outputSize), sT = [Float](repeating: 0, count: s0.count)
        var dx = [Float](repeating: 0, count: x.count), ds0 = [Float](repeating: 0, count: s0.count)
        let ws = RecurrentStackWorkspace()
        var rng = SeededGenerator(seed: 0)
        let lengthValues = lengths ?? []
        try lengthValues.withUnsafeBufferPointer { lp in
            let l = lengths == nil ? nil : lp.baseAddress
            if let lengths { try RecurrentStack.validate(lengths: lengths, batch: b, steps: t) }
            stack.forward(input: x, batch: b, steps: t, lengths: l, initialState: s0, output: &y, finalState: &sT,
                          rng: &rng, workspace: ws, arena: arena)
            arena.zeroGradients()
            stack.backward(input: x, batch: b, steps: t, lengths: l, outputGradient: dy, finalStateGradient: dsT,
                           inputGradient: &dx, initialStateGradient: &ds0, workspace: ws, arena: arena)
        }
        (self.y, self.sT, self.dx, self.ds0) = (y, sT, dx, ds0)
        gradients = Array(UnsafeBufferPointer(start: arena.gradients, count: arena.count))
    }
}
