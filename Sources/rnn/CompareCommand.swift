import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Vanilla vs LSTM: train each cell on a long-range task and compare.",
        discussion: """
            Trains every cell on the same data and prints the final test loss next to the task's \
            memoryless baseline, writes an SVG of the learning curves and of the gradient norms \
            ‖∂L/∂h_t‖ at initialisation, and prints those norms so vanishing gradients show. \
            A cell counts as solved below one-sixteenth of the baseline.

            Examples:
              rnn compare --task adding --length 100
              rnn compare --task copy --length 50 --cells lstm,gru --steps 3000
              rnn compare --task adding --length 30 --steps 300 --json
            """)

    @Option(help: "adding or copy.")
    var task: LongRangeTask = .adding

    @Option(parsing: .unconditional, help: "The gap T (at least 2): sequence length for adding, blanks + 1 for copy.")
    var length: Int = 100

    @Option(help: "Comma-separated cells: \(cellNames).")
    var cells: String = "rnn,lstm,gru"

    @Option(parsing: .unconditional, help: "Hidden units.")
    var hidden: Int = 128

    @Option(parsing: .unconditional, help: "Training steps per cell.")
    var steps: Int = 2000

    @Option(parsing: .unconditional, help: "Sequences per batch.")
    var batch: Int = 50

    @OptionGroup(title: "Optimisation (compare's defaults: Adam, lr 1e-2, clip 1)") var optimization: OptimizationOptions

    @Option(help: "Initialisation: glorot-orthogonal (forget-gate bias 1) or pytorch (U(±1/√H)).")
    var `init`: RecurrentInitialization = .glorotOrthogonal

    @Option(help: "Seed for the weights and the data.", transform: parseSeed)
    var seed: UInt64 = 1

    @Option(help: "Where to write the SVG chart (default: compare-TASK.svg).")
    var svg: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Flag(help: "Print JSON: {\"task\", \"length\", \"baseline\", \"results\": [...]}.")
    var json = false

    func validate() throws {
        guard length >= 2 && length <= 100_000 else { throw ValidationError("invalid length '\(length)': expected 2...100000") }
        guard hidden >= 1 && hidden <= 8192 else { throw ValidationError("invalid hidden '\(hidden)': expected 1...8192") }
        guard steps >= 1 && steps <= 10_000_000 else { throw ValidationError("invalid steps '\(steps)': expected at least 1") }
        guard batch >= 1 && batch <= 100_000 else { throw ValidationError("invalid batch '\(batch)': expected at least 1") }
        if let lr = optimization.lr, !(lr > 0 && lr.isFinite) {
            throw ValidationError("invalid lr '\(lr)': expected a positive number")
        }
        _ = try optimization.schedule()
        for name in cells.split(separator: ",", omittingEmptySubsequences: false) {
            do { _ = try CellKind(parsing: String(name)) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        kernelThreads.apply()
        var config = CellComparisonConfiguration()
        config.task = task
        config.length = length
        config.cells = try cells.split(separator: ",").map { try CellKind(parsing: String($0)) }
        config.hiddenSize = hidden
        config.steps = steps
        config.batch = batch
        config.optimizer = optimization.optimizer ?? config.optimizer
        config.learningRate = optimization.lr ?? config.learningRate
        config.schedule = try optimization.schedule() ?? config.schedule
        config.clip = optimization.clip ?? config.clip
        config.patience = optimization.patience
        config.seed = seed
        config.initialization = `init`
        config.evaluateEvery = max(1, min(100, steps / 10))
        let interactive = !json && isatty(STDERR_FILENO) != 0
        let result = try compareCells(config) { cell, step, loss in
            if interactive {
                FileHandle.standardError.write(Data(String(format: "\r%@ step %d/%d  test loss %.4f   ",
                                                           cell.displayName, step, config.steps, loss).utf8))
                if step == config.steps { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        // The results first: a chart that cannot be written must not lose them.
        if json { Self.printJSON(result) } else { printTable(result) }
        let path = svg ?? "compare-\(task.rawValue).svg"
        try writeAtomically(Data(Self.chart(result).utf8), to: path)
        if !json {
            print()
            print("Chart: \(path)")
        }
    }

    /// Prints `{"task", "length", "baseline", "results": [...]}`.
    static func printJSON(_ result: CellComparisonResult) {
        print(JSON.object([
            ("task", JSON.string(result.task.rawValue)), ("length", "\(result.length)"),
            ("baseline", JSON.number(result.baseline)),
            ("results", JSON.array(result.runs.map { run in
                JSON.object([("cell", JSON.string(run.cell.displayName)), ("test_loss", JSON.number(run.testLoss)),
                             ("steps", "\(run.steps)"), ("seconds", JSON.number((run.seconds * 10).rounded() / 10)),
                             ("solved", run.solved ? "true" : "false")])
            })),
        ]))
    }

    /// Prints the results table, then the gradient norms at initialisation.
    func printTable(_ result: CellComparisonResult) {
        print("Task \(result.task.rawValue), T = \(result.length), hidden \(hidden), \(steps) steps of batch \(batch), seed \(seed)")
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        print(pad("cell", 10) + pad("test loss", 12) + pad("baseline", 11) + pad("solved", 8) + "seconds")
        for run in result.runs {
            print(pad(run.cell.displayName, 10) + pad(String(format: "%.3g", run.testLoss), 12)
                  + pad(String(format: "%.4f", result.baseline), 11) + pad(run.solved ? "yes" : "no", 8)
                  + String(format: "%.1f", run.seconds))
        }
        print()
        print("‖∂L/∂h_t‖ at initialisation (first test batch):")
        let l = result.runs[0].gradientNorms.count
        let ts = Array(Set((0...10).map { min(l - 1, $0 * (l - 1) / 10) })).sorted()
        print(pad("t =", 8) + ts.map { String(format: "%10d", $0) }.joined())
        for run in result.runs {
            print(pad(run.cell.displayName, 8) + ts.map { String(format: "%10.2e", run.gradientNorms[$0]) }.joined())
        }
    }

    /// The SVG: each cell's test loss against the baseline, and its gradient norms at initialisation.
    static func chart(_ result: CellComparisonResult) -> String {
        let curves = LineChart(
            title: "\(result.task.rawValue) problem, T = \(result.length): test loss", xLabel: "training step",
            yLabel: "test loss", logY: true,
            series: result.runs.map { run in .init(name: run.cell.displayName, points: run.curve.map { (Double($0.step), $0.loss) }) }
                + [.init(name: "baseline", points: [(0, result.baseline), (Double(result.runs[0].steps), result.baseline)],
                         dashed: true)])
        let norms = LineChart(
            title: "‖∂L/∂h_t‖ at initialisation", xLabel: "time step t", yLabel: "gradient norm", logY: true,
            series: result.runs.map { run in
                .init(name: run.cell.displayName, points: run.gradientNorms.enumerated().map { (Double($0.offset), Double($0.element)) })
            })
        return LineChart.document([curves, norms])
    }
}
