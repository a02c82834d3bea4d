import Recurrent

/// What the trainer needs from a roommate model.
protocol RoommateModel: AnyObject {
    var arena: ParameterArena { get }
    /// Forward on a batch of weeks; the logits stay in the model's buffers.
    func forward(_ weeks: [Week])
    /// The mean cross-entropy of the last forward, keeping ∂L/∂logits for `backward`.
    func loss(_ weeks: [Week]) -> Float
    /// Backward from the last loss; gradients accumulate into the arena.
    func backward(_ weeks: [Week])
    /// Fraction of the last forward's days predicted right.
    func accuracy(_ weeks: [Week]) -> Double
    /// The dish logits per day (T, 3) of one week of the model's own length, by its batch forward.
    func dayLogits(_ week: Week) -> [[Float]]
}

/// The roommate models' buffers, sized for the largest batch seen and reused across steps.
enum RoommateSlot: Int, CaseIterable { case x, s0, z, dz, h, y, dy, dh }

/// The trainable Food/Weather/Merge network: weather (B, T, 2) in, the start dish as the
/// initial state (B, 3), dish logits (B, T, 3) out.
final class RoommateNetwork: RoommateModel {
    let layer: RecurrentLayer<RoommateCell>
    let arena: ParameterArena
    let workspace = RecurrentWorkspace()
    let buffers = GrowingBuffers<RoommateSlot>()
    let days: Int

    init(days: Int, seed: UInt64) {
        var layout = ParameterLayout()
        layer = RecurrentLayer(cell: RoommateCell(layout: &layout))
        arena = ParameterArena(layout: layout, seed: seed)
        self.days = days
    }

    /// The last forward's targets, a dish per day.
    private var targets: [Int32] = []

    /// Runs the batch forward: dish logits (B, T, 3) into the buffers.
    func forward(_ weeks: [Week]) {
        let (b, t) = (weeks.count, days)
        let x = buffers(.x, b * t * 2), s0 = buffers(.s0, b * 3)
        let z = buffers(.z, b * t * 3)
        x.update(repeating: 0, count: b * t * 2)
        s0.update(repeating: 0, count: b * 3)
        var targets: [Int32] = []
        targets.reserveCapacity(b * t)
        for (r, week) in weeks.enumerated() {
            s0[r * 3 + week.start.rawValue] = 1
            for (d, w) in week.weather.enumerated() { x[(r * t + d) * 2 + w.rawValue] = 1 }
            targets += week.dishes.map { Int32($0.rawValue) }
        }
        layer.forward(input: x, batch: b, steps: t, initialState: s0, output: z, finalState: nil,
                      workspace: workspace, arena: arena)
        self.targets = targets
    }

    func loss(_ weeks: [Week]) -> Float {
        let (b, t) = (weeks.count, days)
        return targets.withUnsafeBufferPointer {
            Loss.softmaxCrossEntropy(logits: buffers(.z, b * t * 3), rows: b * t, classes: 3, targets: $0.baseAddress!,
                                     gradient: buffers(.dz, b * t * 3)).loss
        }
    }

    func backward(_ weeks: [Week]) {
        let (b, t) = (weeks.count, days)
        layer.backward(input: buffers(.x, b * t * 2), batch: b, steps: t, outputGradient: buffers(.dz, b * t * 3),
                       finalStateGradient: nil, inputGradient: nil, initialStateGradient: nil,
                       workspace: workspace, arena: arena)
    }

    func accuracy(_ weeks: [Week]) -> Double {
        argmaxAccuracy(buffers(.z, weeks.count * days * 3), classes: 3, targets: targets)
    }

    func dayLogits(_ week: Week) -> [[Float]] {
        forward([week])
        let z = buffers(.z, days * 3)
        return (0..<days).map { d in (0..<3).map { z[d * 3 + $0] } }
    }
}

/// The formal vanilla RNN: tokens one-hot over {pasta, burger, salad, sunny, rainy}; step 0
/// reads the start dish, steps 1...T the weather; y_t = W_hy·h_t + b_y predicts day t.
final class VanillaRoommateNetwork: RoommateModel {
    static let symbols = 5
    let layer: RecurrentLayer<RNNCell>
    let head: Linear
    let arena: ParameterArena
    let workspace = RecurrentWorkspace()
    let buffers = GrowingBuffers<RoommateSlot>()
    let days: Int
    let hidden: Int

    init(days: Int, hidden: Int, seed: UInt64) {
        var layout = ParameterLayout()
        layer = RecurrentLayer(cell: RNNCell("rnn", inputSize: Self.symbols, hiddenSize: hidden, layout: &layout))
        head = Linear("head", inputSize: hidden, outputSize: 3, layout: &layout)
        arena = ParameterArena(layout: layout, seed: seed)
        self.days = days
        self.hidden = hidden
    }

    /// The last forward's targets: −1 for the start dish's step, then a dish per day.
    private var targets: [Int32] = []

    /// Runs the batch forward: dish logits (B, T + 1, 3) into the buffers.
    func forward(_ weeks: [Week]) {
        let (b, t, v) = (weeks.count, days + 1, Self.symbols)
        let x = buffers(.x, b * t * v), h = buffers(.h, b * t * hidden)
        let y = buffers(.y, b * t * 3)
        x.update(repeating: 0, count: b * t * v)
        var targets: [Int32] = []
        targets.reserveCapacity(b * t)
        for (r, week) in weeks.enumerated() {
            x[(r * t) * v + week.start.rawValue] = 1
            targets.append(-1)   // nothing to predict while reading the start dish
            for (d, w) in week.weather.enumerated() { x[(r * t + d + 1) * v + 3 + w.rawValue] = 1 }
            targets += week.dishes.map { Int32($0.rawValue) }
        }
        layer.forward(input: x, batch: b, steps: t, initialState: nil, output: h, finalState: nil,
                      workspace: workspace, arena: arena)
        head.forward(h, rows: b * t, output: y, arena: arena)
        self.targets = targets
    }

    func loss(_ weeks: [Week]) -> Float {
        let (b, t) = (weeks.count, days + 1)
        return targets.withUnsafeBufferPointer {
            Loss.softmaxCrossEntropy(logits: buffers(.y, b * t * 3), rows: b * t, classes: 3, targets: $0.baseAddress!,
                                     gradient: buffers(.dy, b * t * 3)).loss
        }
    }

    func backward(_ weeks: [Week]) {
        let (b, t) = (weeks.count, days + 1)
        let dy = buffers(.dy, b * t * 3), dh = buffers(.dh, b * t * hidden)
        dh.update(repeating: 0, count: b * t * hidden)
        head.backward(buffers(.h, b * t * hidden), rows: b * t, outputGradient: dy, inputGradient: dh, arena: arena)
        layer.backward(input: buffers(.x, b * t * Self.symbols), batch: b, steps: t, outputGradient: dh,
                       finalStateGradient: nil, inputGradient: nil, initialStateGradient: nil,
                       workspace: workspace, arena: arena)
    }

    func accuracy(_ weeks: [Week]) -> Double {
        argmaxAccuracy(buffers(.y, weeks.count * (days + 1) * 3), classes: 3, targets: targets)
    }

    /// Step 0 reads the start dish and predicts nothing: its row is left out.
    func dayLogits(_ week: Week) -> [[Float]] {
        forward([week])
        let y = buffers(.y, (days + 1) * 3)
        return (1...days).map { d in (0..<3).map { y[d * 3 + $0] } }
    }
}

/// Fraction of rows with a non-negative target whose largest logit is the target.
func argmaxAccuracy(_ logits: UnsafePointer<Float>, classes: Int, targets: [Int32]) -> Double {
    var right = 0, counted = 0
    for (r, target) in targets.enumerated() where target >= 0 {
        counted += 1
        let row = logits + r * classes
        var best = 0
        for j in 1..<classes where row[j] > row[best] { best = j }
        if best == Int(target) { right += 1 }
    }
    return counted == 0 ? 0 : Double(right) / Double(counted)
}
