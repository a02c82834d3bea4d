import Foundation
import Recurrent

/// The lecture's hand-wired roommate and a network trained from random weights, run side by side
/// on the same week: what `rnn roommate --explain` draws.
package struct RoommateExplanation: Sendable {
    /// One day of the trained network.
    public struct TrainedDay: Sendable {
        /// The hidden units after reading the day: u_t = σ(a_t) (6) for the roommate cell,
        /// h_t (H) for the vanilla RNN.
        public let hidden: [Float]
        /// The output scores: the logits of pasta, burger, salad (3).
        public let scores: [Float]
        /// softmax(scores) (3).
        public let probabilities: [Float]
        /// The winning dish: the largest score.
        public let dish: Dish
    }

    /// The dish cooked the day before the first day.
    public let start: Dish
    /// One weather per day (T).
    public let weather: [Weather]
    /// The rule's dish per day (T).
    public let rule: [Dish]
    /// The hand-wired network's days (T), each fed the previous day's output: every vector the
    /// lecture names (Food·yesterday, Weather·today, Add, ReLU(Add − 1), Merge·…).
    public let handWired: [Roommate.Trace]
    /// The trained network's days (T), each fed its own state.
    public let trained: [TrainedDay]
    /// The training run: curve, accuracy and the learned parameters.
    public let training: RoommateTrainingResult

    /// The hand-wired network's dish per day.
    public var handWiredDishes: [Dish] { handWired.map { Roommate.dish(of: $0.output) } }
    /// The trained network's dish per day.
    public var trainedDishes: [Dish] { trained.map(\.dish) }
}

/// Runs the hand-wired roommate on a week, trains a network from random weights exactly as
/// `trainRoommate(config)` does (the same configuration gives the same weights), and runs the
/// trained network on the same week.
/// - Parameters:
///   - start: the dish cooked the day before the first day.
///   - weather: one weather per day, 1...`Roommate.maximumDays` days.
///   - config: the training configuration (`rnn roommate --train`'s).
/// - Returns: both networks' days and the training run.
/// - Throws: `RecurrentError.invalidArgument` for an empty or too long week or a bad configuration,
///   `RecurrentError.divergence` if training diverges.
package func explainRoommate(start: Dish, weather: [Weather],
                             training config: RoommateTrainingConfiguration) throws -> RoommateExplanation {
    try require(!weather.isEmpty && weather.count <= Roommate.maximumDays,
                .invalidArgument(name: "weather list", value: "\(weather.count) days",
                                 expected: "1...\(Roommate.maximumDays) days"))
    var yesterday = start.oneHot
    let handWired = weather.map { w in
        let trace = Roommate.handWiredStep(yesterday: yesterday, weather: w.oneHot)
        yesterday = trace.output
        return trace
    }
    let result = try trainRoommate(config)
    return RoommateExplanation(start: start, weather: weather, rule: Roommate.schedule(start: start, weather: weather),
                               handWired: handWired,
                               trained: trainedRoommateDays(result, start: start, weather: weather),
                               training: result)
}

/// The trained network's forward on one week, from its learned parameters, every day kept.
///
/// Roommate cell: p_0 = one-hot(start); a_t = Weather·x_t + b_add + Food·p_{t−1}, u_t = σ(a_t),
/// z_t = Merge·u_t + b_merge, p_t = softmax(z_t). Vanilla RNN: h_0 = tanh(W_ih·start + b_ih + b_hh)
/// reads the start dish (symbols pasta, burger, salad, sunny, rainy), then h_t = tanh(W_ih·x_t + b_ih
/// + W_hh·h_{t−1} + b_hh), z_t = W_hy·h_t + b_y.
func trainedRoommateDays(_ result: RoommateTrainingResult, start: Dish, weather: [Weather]) -> [RoommateExplanation.TrainedDay] {
    let p = Dictionary(result.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    func m(_ name: String) -> Matrix { p[name]! }   // the names are the models' own layouts'
    func add(_ vs: [Float]...) -> [Float] { vs.dropFirst().reduce(vs[0]) { zip($0, $1).map(+) } }
    func softmax(_ z: [Float]) -> [Float] {
        let top = z.max()!   // subtract the largest for stability
        let e = z.map { Foundation.exp($0 - top) }, s = e.reduce(0, +)
        return e.map { $0 / s }
    }
    func day(_ hidden: [Float], _ z: [Float]) -> RoommateExplanation.TrainedDay {
        .init(hidden: hidden, scores: z, probabilities: softmax(z), dish: Roommate.dish(of: z))
    }
    switch result.model {
    case .roommate:
        let (w, b, food, merge, mb) = (m("roommate.weather"), m("roommate.add_bias").scalars, m("roommate.food"),
                                       m("roommate.merge"), m("roommate.merge_bias").scalars)
        var previous = start.oneHot
        return weather.map { x in
            let a = add(try! w.apply(x.oneHot), b, try! food.apply(previous))
            let u = a.map { 1 / (1 + Foundation.exp(-$0)) }
            let z = add(try! merge.apply(u), mb)
            previous = softmax(z)
            return day(u, z)
        }
    case .rnn:
        let (wih, whh) = (m("rnn.weight_ih_l0"), m("rnn.weight_hh_l0"))
        let bias = add(m("rnn.bias_ih_l0").scalars, m("rnn.bias_hh_l0").scalars)
        let (head, hb) = (m("head.weight"), m("head.bias").scalars)
        func symbol(_ i: Int) -> [Float] { OneHot.vector(i, classes: VanillaRoommateNetwork.symbols) }
        var h = add(try! wih.apply(symbol(start.rawValue)), bias).map { tanh($0) }
        return weather.map { x in
            h = add(try! wih.apply(symbol(3 + x.rawValue)), bias, try! whh.apply(h)).map { tanh($0) }
            return day(h, add(try! head.apply(h), hb))
        }
    }
}
