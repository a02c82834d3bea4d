import Recurrent

/// "How to train the RNN? Start with random weights": the roommate task learned by BPTT.
///
/// Every week is a start dish (the dish cooked the day before) and `days` weather days;
/// the target is the rule's schedule. All 3·2^days weeks are enumerated and split once by
/// the seed into a training set and a held-out set that training never sees.
package enum RoommateModelKind: String, CaseIterable, Sendable {
    /// `RoommateCell`: the lecture's Food, Weather, Merge matrices with biases, sigmoid and softmax.
    case roommate
    /// The formal vanilla RNN: h_t = tanh(W_hh·h_{t−1} + W_xh·x_t + b), y_t = W_hy·h_t + b_y,
    /// reading the start dish at t = 0 and one weather per step after it.
    case rnn
}

package struct RoommateTrainingConfiguration: Sendable {
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

package struct RoommateTrainingResult: Sendable {
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
package func trainRoommate(_ config: RoommateTrainingConfiguration) throws -> RoommateTrainingResult {
    try trainRoommateModel(config).result
}

/// `trainRoommate`, also handing back the trained model (for tests that run its own forward).
func trainRoommateModel(_ config: RoommateTrainingConfiguration) throws
    -> (result: RoommateTrainingResult, model: any RoommateModel) {
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
    let task = RoommateTrainingTask(model: model, training: training, heldOut: heldOut, batch: config.batch)
    var options = TrainerOptions(totalSteps: config.maximumSteps, evaluateEvery: config.evaluateEvery,
                                 learningRate: config.learningRate)
    options.clip = 5
    options.monitor = .metric("accuracy")
    options.target = 1   // stop once every held-out day is right
    let trainer = Trainer(task: task, optimizer: Adam(arena: model.arena, learningRate: config.learningRate),
                          options: options, rng: rng)
    let history = TrainingHistory()
    trainer.observers = [history]
    let outcome = try trainer.run()
    let parameters = model.arena.parameters.map { ($0.name, model.arena.matrix($0)) }
    let result = RoommateTrainingResult(model: config.model, seed: config.seed, steps: outcome.steps,
                                  accuracy: outcome.lastEvaluation?[metric: "accuracy"]?.value ?? 0,
                                  heldOutWeeks: heldOut.count, trainingWeeks: training.count,
                                  history: history.records.map {
                                      ($0.step, Float($0.trainLoss ?? 0), $0.evaluation?[metric: "accuracy"]?.value ?? 0)
                                  },
                                  parameters: parameters)
    return (result, model)
}

/// The roommate task as the trainer sees it: a batch of weeks drawn at random from the
/// training weeks every step; held-out accuracy, feeding the model its own state.
final class RoommateTrainingTask: TrainingTask {
    let model: any RoommateModel
    let training: [Week]
    let heldOut: [Week]
    let batchSize: Int
    var arena: ParameterArena { model.arena }
    var stepsPerEpoch: Int { max(1, training.count / batchSize) }

    init(model: any RoommateModel, training: [Week], heldOut: [Week], batch: Int) {
        self.model = model
        self.training = training
        self.heldOut = heldOut
        batchSize = batch
    }

    func batch(step: Int, rng: inout SeededGenerator) -> [Week] {
        (0..<batchSize).map { _ in training[rng.nextInt(below: training.count)] }
    }

    func forward(_ weeks: [Week], training: Bool, rng: inout SeededGenerator) { model.forward(weeks) }
    /// The batch's mean loss per day, counted once.
    func loss(_ weeks: [Week]) -> BatchLoss { BatchLoss(sum: Double(model.loss(weeks)), count: 1) }
    func backward(_ weeks: [Week]) { model.backward(weeks) }
    func tokens(in weeks: [Week]) -> Int { weeks.count * (weeks.first?.weather.count ?? 0) }

    func evaluate() -> Evaluation? {
        model.forward(heldOut)
        return Evaluation(loss: nil, metrics: [.init("accuracy", model.accuracy(heldOut))])
    }
}
