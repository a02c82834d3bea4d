import Foundation
import XCTest
import Recurrent

/// The documentation catalog's Swift examples (Sources/Recurrent/Recurrent.docc) run here as
/// written, with checks of what the articles say they do; `testArticlesShowTheseExamples` keeps
/// the articles and this file the same code.
final class DocumentationExampleTests: XCTestCase {
    func testGettingStarted() throws {

        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(1), kind: .gru, hiddenSize: 32, outputs: 1, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 1)          // random weights, PyTorch's initialisation
        let optimizer = Adam(arena: arena, learningRate: 1e-2)
        let workspace = SequenceModelWorkspace()
        var rng = SeededGenerator(seed: 2)

        let (b, t) = (32, 10)
        var output = [Float](repeating: 0, count: b), gradient = output
        var loss: Float = 0
        for _ in 0..<300 {
            let x = (0..<(b * t)).map { _ in rng.nextUniform() }
            let sums = (0..<b).map { r in x[(r * t)..<((r + 1) * t)].reduce(0, +) }
            model.forward(features: x, batch: b, steps: t, readout: .lastStep, output: &output, training: true,
                          rng: &rng, workspace: workspace, arena: arena)
            loss = Loss.meanSquaredError(output, target: sums, count: b, gradient: &gradient)
            arena.zeroGradients()
            model.backward(features: x, batch: b, steps: t, readout: .lastStep, outputGradient: gradient,
                           workspace: workspace, arena: arena)
            GradientClipping.clip(arena, maxNorm: 1)
            optimizer.step(arena)
        }
        print("mean squared error after 300 steps: \(loss)")
        XCTAssertLessThan(loss, 0.1, "the article says the error ends a small fraction of the sums' variance 10/12")
    }

    func testTrainingYourOwnModel() throws {

        /// Many to one: each sequence's label is whether its values sum to more than half its length.
        final class ThresholdTask: TrainingTask {
            let model: SequenceModel
            let arena: ParameterArena
            let workspace = SequenceModelWorkspace()
            let sequences: [[Float]]          // the data source: N sequences of T values
            let validation: [[Float]]
            let (b, t) = (16, 12)
            var order: [Int] = []
            var x: [Float] = [], labels: [Int32] = [], logits: [Float], gradient: [Float]
            var stepsPerEpoch: Int { sequences.count / b }

            init(sequences: [[Float]], validation: [[Float]]) throws {
                self.sequences = sequences
                self.validation = validation
                var layout = ParameterLayout()
                model = try SequenceModel(input: .features(1), kind: .lstm, hiddenSize: 24, outputs: 2, layout: &layout)
                arena = ParameterArena(layout: layout, seed: 3)
                logits = [Float](repeating: 0, count: b * 2)
                gradient = logits
            }

            func label(_ s: [Float]) -> Int32 { s.reduce(0, +) > Float(t) / 2 ? 1 : 0 }

            func batch(step: Int, rng: inout SeededGenerator) {
                let start = (step % stepsPerEpoch) * b
                if start == 0 { order = sequences.indices.shuffled(using: &rng) }   // a new order each epoch
                let rows = order[start..<(start + b)].map { sequences[$0] }
                x = rows.flatMap { $0 }
                labels = rows.map(label)
            }
            func forward(_: Void, training: Bool, rng: inout SeededGenerator) {
                model.forward(features: x, batch: b, steps: t, readout: .lastStep, output: &logits, training: training,
                              rng: &rng, workspace: workspace, arena: arena)
            }
            func loss(_: Void) -> BatchLoss {
                let (mean, count) = Loss.softmaxCrossEntropy(logits: logits, rows: b, classes: 2, targets: labels,
                                                             gradient: &gradient)
                return BatchLoss(sum: Double(mean) * Double(count), count: count)
            }
            func backward(_: Void) {
                model.backward(features: x, batch: b, steps: t, readout: .lastStep, outputGradient: gradient,
                               workspace: workspace, arena: arena)
            }
            func tokens(in _: Void) -> Int { b * t }

            /// The mean loss over the held-out sequences, dropout off.
            func evaluate() -> Evaluation? {
                var total = 0.0, rng = SeededGenerator(seed: 0)
                let batches = validation.count / b
                for start in stride(from: 0, to: batches * b, by: b) {
                    x = validation[start..<(start + b)].flatMap { $0 }
                    labels = validation[start..<(start + b)].map(label)
                    forward((), training: false, rng: &rng)
                    total += loss(()).mean
                }
                return Evaluation(loss: total / Double(batches))
            }
        }

        var generator = SeededGenerator(seed: 7)
        let data = (0..<640).map { _ in (0..<12).map { _ in generator.nextUniform() } }
        let task = try ThresholdTask(sequences: Array(data[..<512]), validation: Array(data[512...]))
        var options = TrainerOptions(totalSteps: 400, evaluateEvery: 100, learningRate: 5e-3)
        options.schedule = .cosine(warmup: 20, minimum: 0.1)
        options.clip = 1
        let trainer = Trainer(task: task, optimizer: Adam(arena: task.arena, learningRate: 5e-3), options: options,
                              rng: SeededGenerator(seed: 8))
        let history = TrainingHistory()
        trainer.observers = [history]
        let outcome = try trainer.run()
        XCTAssertEqual(outcome.reason, .completed)
        XCTAssertEqual(history.records.count, 4)
        XCTAssertLessThan(try XCTUnwrap(history.records.last?.evaluation?.loss), 0.3)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("threshold.safetensors").path
        try writeAtomically(Checkpoint.encode(task.arena, metadata: ["config": #"{"hidden_size": 24}"#]), to: path)

        var layout = ParameterLayout()
        let restored = try SequenceModel(input: .features(1), kind: .lstm, hiddenSize: 24, outputs: 2, layout: &layout)
        let checkpoint = try Checkpoint(contentsOf: path)
        try checkpoint.verify(layout, needs: "the model")    // names and shapes, before anything is read
        let arena = ParameterArena(layout: layout, seed: 0)
        try checkpoint.load(into: arena)                      // now restored, with arena, predicts as task.model did
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: arena.values, count: arena.count)),
                       Array(UnsafeBufferPointer(start: task.arena.values, count: task.arena.count)))
        XCTAssertEqual(restored.outputs, 2)
    }

    func testTheRoommate() throws {

        let next = try Matrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]])           // yesterday → the next dish
        let food = try Matrix.identity(3).stacked(over: next)                // (6, 3): same over next
        let weather = try Matrix([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]])   // (6, 2)
        let merge = try Matrix.identity(3).concatenated(with: .identity(3))  // (3, 6): [I | I]

        func today(yesterday: [Float], weather w: [Float]) throws -> [Float] {
            let added = zip(try food.apply(yesterday), try weather.apply(w)).map { $0 + $1 }   // Add
            let kept = added.map { max($0 - 1, 0) }                          // nonlinearity: only a 2 survives
            return try merge.apply(kept)                                     // Merge
        }

        var dish: [Float] = [1, 0, 0]                                        // pasta
        for w: [Float] in [[1, 0], [0, 1], [0, 1], [1, 0]] {                 // sunny, rainy, rainy, sunny
            dish = try today(yesterday: dish, weather: w)
        }
        // dish is [0, 0, 1]: pasta, pasta, burger, salad, salad.
        XCTAssertEqual(dish, [0, 0, 1])

        let (b, t) = (32, 10)
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(5), kind: .rnnTanh, hiddenSize: 16, outputs: 3, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 4)
        let optimizer = Adam(arena: arena, learningRate: 1e-2)
        let workspace = SequenceModelWorkspace()
        var rng = SeededGenerator(seed: 5)

        /// A batch of weeks: inputs (B, T, 5) and the dish cooked each day (B·T).
        func weeks(_ rng: inout SeededGenerator) -> (x: [Float], dishes: [Int32]) {
            var x = [Float](repeating: 0, count: b * t * 5), dishes: [Int32] = []
            for r in 0..<b {
                var dish = Int32(rng.next() % 3)
                x[r * t * 5 + Int(dish)] = 1                                  // day 0: the starting dish
                for day in 0..<t {
                    let rainy = rng.nextUniform() < 0.5
                    x[(r * t + day) * 5 + 3 + (rainy ? 1 : 0)] = 1            // every day: the weather
                    if rainy { dish = (dish + 1) % 3 }
                    dishes.append(dish)
                }
            }
            return (x, dishes)
        }

        var logits = [Float](repeating: 0, count: b * t * 3), gradient = logits
        for _ in 0..<400 {
            let (x, dishes) = weeks(&rng)
            model.forward(features: x, batch: b, steps: t, output: &logits, training: true, rng: &rng,
                          workspace: workspace, arena: arena)
            Loss.softmaxCrossEntropy(logits: logits, rows: b * t, classes: 3, targets: dishes, gradient: &gradient)
            arena.zeroGradients()
            model.backward(features: x, batch: b, steps: t, outputGradient: gradient, workspace: workspace, arena: arena)
            optimizer.step(arena)
        }
        // "After a few hundred steps the network predicts every day of weeks it has never seen."
        var unseen = SeededGenerator(seed: 99)
        let (x, dishes) = weeks(&unseen)
        model.forward(features: x, batch: b, steps: t, output: &logits, rng: &unseen, workspace: workspace, arena: arena)
        var predicted: [Int32] = []
        for r in 0..<(b * t) {
            let row = Array(logits[(r * 3)..<(r * 3 + 3)])
            predicted.append(Int32(row.firstIndex(of: row.max()!)!))
        }
        XCTAssertEqual(predicted, dishes)
    }

    /// Every Swift block of the articles (but the Package.swift one) stands in this file, line for line.
    func testArticlesShowTheseExamples() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tests = try String(contentsOf: here, encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var checked = 0
        for article in ["GettingStarted", "TrainingYourOwnModel", "TheRoommate"] {
            let text = try String(contentsOf: root.appendingPathComponent("Sources/Recurrent/Recurrent.docc/\(article).md"), encoding: .utf8)
            for block in text.components(separatedBy: "```swift\n").dropFirst() {
                let code = block.components(separatedBy: "```")[0]
                guard !code.contains("dependencies:") else { continue }
                let lines = code.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
                let found = tests.indices.contains { i in
                    tests[i] == lines[0] && Array(tests[i...].filter { !$0.isEmpty }.prefix(lines.count)) == lines
                }
                XCTAssertTrue(found, "\(article): the block starting '\(lines[0])' is not in the tests as written")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 6)
    }
}
