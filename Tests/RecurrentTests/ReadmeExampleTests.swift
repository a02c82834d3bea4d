import XCTest
import Recurrent
import RecurrentApps

/// The README's library example, verbatim in substance: it must compile and run.
final class ReadmeExampleTests: XCTestCase {
    func testLibraryExample() throws {
        // A 2-layer LSTM over 8 features, batch-first, PyTorch's parameter names and layout.
        var layout = ParameterLayout()
        let model = try SequenceModel(input: .features(8), kind: .lstm, hiddenSize: 64, layers: 2, outputs: 1, layout: &layout)
        let arena = ParameterArena(layout: layout, seed: 42)          // every parameter in one block
        let optimizer = Adam(arena: arena, learningRate: 1e-3)
        let workspace = SequenceModelWorkspace()
        var rng = SeededGenerator(seed: 1)

        let (b, t) = (16, 20)
        let x = [Float](repeating: 0.5, count: b * t * 8), target = [Float](repeating: 1, count: b)
        var y = [Float](repeating: 0, count: b), dy = y
        model.forward(features: x, batch: b, steps: t, readout: .lastStep, output: &y, rng: &rng, workspace: workspace, arena: arena)
        let loss = Loss.meanSquaredError(y, target: target, count: b, gradient: &dy)
        arena.zeroGradients()
        model.backward(features: x, batch: b, steps: t, readout: .lastStep, outputGradient: dy, workspace: workspace, arena: arena)
        GradientClipping.clip(arena, maxNorm: 5)
        optimizer.step(arena)

        XCTAssertTrue(loss.isFinite)
        XCTAssertNotNil(arena["rnn.weight_hh_l1"])
        XCTAssertGreaterThan(GradientClipping.globalNorm(arena), 0)
    }
}

final class ReadmeTaskExampleTests: XCTestCase {
    /// The README's three-call task API, on generated data.
    func testTaskExample() throws {
        let dir = TemporaryFolder()
        let lines = (0..<80).map { i in "{\"input\": \"\(i % 2 == 0 ? "good fine" : "bad awful")\", \"target\": \"\(i % 2 == 0 ? "pos" : "neg")\"}" }
        let train = dir.write("train.jsonl", lines.joined(separator: "\n"))
        var options = TaskTrainingOptions(kind: .classify)
        options.epochs = 2
        options.hiddenSize = 8
        let trainer = try TaskTrainer(data: train, validation: nil, options: options, output: dir.file("c"))
        _ = try trainer.run()
        let predictor = try TaskPredictor(checkpoint: dir.file("c/best.safetensors"))
        let (predictions, _) = try predictor.predict(data: train)
        let metrics = try predictor.evaluate(data: train).metrics
        XCTAssertEqual(predictions.count, 80)
        XCTAssertEqual(metrics.map(\.0), ["accuracy", "macro_f1"])
    }
}
