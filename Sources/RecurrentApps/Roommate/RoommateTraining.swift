import Recurrent
/// "How to train the RNN? Start with random weights": the roommate task learned by BPTT.
///
/// Every week is a start dish (the dish cooked the day before) and `days` weather days;
/// the target is the rule's schedule. All 3·2^days weeks are enumerated and split once by
/// the seed into a training set and a held-out set that training never sees.
public enum RoommateModelKind: String, CaseIterable, Sendable {
    /// `RoommateCell`: the lecture's Food, Weather, Merge matrices with biases, sigmoid and softmax.
    case roommate
    /// The formal vanilla RNN: h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b), y_t = W_hy·h_t + b_y,
    /// reading the start dish at t = 0 and one weather per step after it.
    case rnn
}

public struct RoommateTrainingConfiguration: Sendable {
    public var model: RoommateModelKind = .roommate
    public var seed: UInt64 = 1
    /// Days per week.
    public var days = 7
    /// Weeks per training batch.
    public var batch = 32
    /// At most this many optimiser steps; training stops earlier once held-out accuracy is 100%.
    public var maximumSteps = 3000
    /// Held-out accuracy is measured every this many steps.
    public var evaluateEvery = 25
    /// Adam's learning rate.
    public var learningRate: Float = 0.05
    /// Hidden width of the vanilla RNN.
    public var hiddenSize = 16
    /// Fraction of all weeks held out.
    public var heldOutFraction = 0.25

    public init() {}

    func validate() throws {
        try require(days >= 1 && days <= 16, .invalidArgument(name: "days", value: "\(days)", expected: "1...16"))
        try require(batch >= 1, .invalidArgument(name: "batch", value: "\(batch)", expected: "at least 1"))
        try require(maximumSteps >= 1, .invalidArgument(name: "steps", value: "\(maximumSteps)", expected: "at least 1"))
        try require(hiddenSize >= 1, .invalidArgument(name: "hidden size", value: "\(hiddenSize)", expected: "at least 1"))
        try require(learningRate > 0 && learningRate.isFinite,
                    .invalidArgument(name: "learning rate", value: "\(learningRate)", expected: "a positive number"))
        try require(heldOutFraction > 0 && heldOutFraction < 1,
                    .invalidArgument(name: "held-out fraction", value: "\(heldOutFraction)", expected: "between 0 and 1"))
    }
}

public struct RoommateTrainingResult: Sendable {
    public let model: RoommateModelKind
    public let seed: UInt64
    /// Optimiser steps taken.
    public let steps: Int
    /// Fraction of held-out days predicted right, feeding the model its own state.
    public let accuracy: Double
    /// Held-out weeks and training weeks.
    public let heldOutWeeks: Int
    public let trainingWeeks: Int
    /// (step, mean training loss since the previous entry, held-out accuracy).
    public let history: [(step: Int, loss: Float, accuracy: Double)]
    /// Every learned parameter by name, in layout order.
    public let parameters: [(name: String, value: Matrix)]
}

/// One week: the dish before day one, the weather, the rule's dishes.
struct Week: Sendable {
    let start: Dish
    let weather: [Weather]
    let dishes: [Dish]
}

/// Trains the chosen model on the roommate task.
/// - Throws: `RecurrentError.invalidArgument` for a bad configuration,
///   `RecurrentError.divergence` if the loss stops being finite.
public func trainRoommate(_ config: RoommateTrainingConfiguration) throws -> RoommateTrainingResult {
    try config.validate()
    var rng = SeededGenerator(seed: config.seed)

    // All weeks, shuffled by the seed, split into training and held-out sets.
    var weeks: [Week] = []
    for start in Dish.allCases {
        for code in 0..<(1 << config.days) {
            let weather = (0..<config.days).map { (code >> $0) & 1 == 0 ? Weather.sunny : .rainy }
            weeks.append(Week(start: start, weather: weather, dishes: Roommate.schedule(start: start, weather: weather)))
        }
    }
    weeks.shuffle(using: &rng)
    let heldOutCount = max(1, Int(Double(weeks.count) * config.heldOutFraction))
    let heldOut = Array(weeks.prefix(heldOutCount))
    let training = Array(weeks.dropFirst(heldOutCount))

    let model: any RoommateModel = config.model == .roommate
        ? RoommateNetwork(days: config.days, seed: rng.next())
        : VanillaRoommateNetwork(days: config.days, hidden: config.hiddenSize, seed: rng.next())
    let optimizer = Adam(arena: model.arena, learningRate: config.learningRate)

    var history: [(step: Int, loss: Float, accuracy: Double)] = []
    var lossSum: Float = 0
    var lossCount = 0
    var accuracy = 0.0
    var step = 0
    var batch: [Week] = []
    batch.reserveCapacity(config.batch)
    while step < config.maximumSteps {
        step += 1
        batch.removeAll(keepingCapacity: true)
        for _ in 0..<config.batch { batch.append(training[rng.nextInt(below: training.count)]) }
        model.arena.zeroGradients()
        let loss = model.trainingStep(batch)
        guard loss.isFinite else { throw RecurrentError.divergence(step: step, loss: loss) }
        GradientClipping.clip(model.arena, maxNorm: 5)
        optimizer.step(model.arena)
        lossSum += loss
        lossCount += 1
        if step % config.evaluateEvery == 0 || step == config.maximumSteps {
            accuracy = model.accuracy(heldOut)
            history.append((step, lossSum / Float(lossCount), accuracy))
            lossSum = 0
            lossCount = 0
            if accuracy == 1 { break }
        }
    }
    let parameters = model.arena.parameters.map { ($0.name, model.arena.matrix($0)) }
    return RoommateTrainingResult(model: config.model, seed: config.seed, steps: step, accuracy: accuracy,
                                  heldOutWeeks: heldOut.count, trainingWeeks: training.count,
                                  history: history, parameters: parameters)
}

/// What the trainer needs from a roommate model.
protocol RoommateModel: AnyObject {
    var arena: ParameterArena { get }
    /// Forward and backward on a batch; gradients accumulate into the arena. Returns the mean loss.
    func trainingStep(_ weeks: [Week]) -> Float
    /// Fraction of days predicted right.
    func accuracy(_ weeks: [Week]) -> Double
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

    /// Runs the batch forward; returns the logits buffer and the targets.
    private func forward(_ weeks: [Week]) -> (logits: UnsafeMutablePointer<Float>, targets: [Int32]) {
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
        return (z, targets)
    }

    func trainingStep(_ weeks: [Week]) -> Float {
        let (b, t) = (weeks.count, days)
        let (z, targets) = forward(weeks)
        let dz = buffers(.dz, b * t * 3)
        let loss = targets.withUnsafeBufferPointer {
            Loss.softmaxCrossEntropy(logits: z, rows: b * t, classes: 3, targets: $0.baseAddress!, gradient: dz).loss
        }
        layer.backward(input: buffers(.x, b * t * 2), batch: b, steps: t, outputGradient: dz,
                       finalStateGradient: nil, inputGradient: nil, initialStateGradient: nil,
                       workspace: workspace, arena: arena)
        return loss
    }

    func accuracy(_ weeks: [Week]) -> Double {
        let (z, targets) = forward(weeks)
        return argmaxAccuracy(z, classes: 3, targets: targets)
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

    private func forward(_ weeks: [Week]) -> (logits: UnsafeMutablePointer<Float>, targets: [Int32]) {
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
        return (y, targets)
    }

    func trainingStep(_ weeks: [Week]) -> Float {
        let (b, t) = (weeks.count, days + 1)
        let (y, targets) = forward(weeks)
        let dy = buffers(.dy, b * t * 3), dh = buffers(.dh, b * t * hidden)
        let loss = targets.withUnsafeBufferPointer {
            Loss.softmaxCrossEntropy(logits: y, rows: b * t, classes: 3, targets: $0.baseAddress!, gradient: dy).loss
        }
        dh.update(repeating: 0, count: b * t * hidden)
        head.backward(buffers(.h, b * t * hidden), rows: b * t, outputGradient: dy, inputGradient: dh, arena: arena)
        layer.backward(input: buffers(.x, b * t * Self.symbols), batch: b, steps: t, outputGradient: dh,
                       finalStateGradient: nil, inputGradient: nil, initialStateGradient: nil,
                       workspace: workspace, arena: arena)
        return loss
    }

    func accuracy(_ weeks: [Week]) -> Double {
        let (y, targets) = forward(weeks)
        return argmaxAccuracy(y, classes: 3, targets: targets)
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
