import Foundation

/// The observer that keeps a run's folder: after every evaluation a metrics line, the chart,
/// `best` when the monitored value improved and `last`; at an interruption `last` alone. The
/// application says what a checkpoint holds (`encodeBest`, `encodeLast`).
public final class CheckpointWriter: TrainingObserver {
    public let folder: RunFolder
    let chartTitle: String
    let yLabel: String
    let encodeBest: (TrainingRecord) -> Data
    let encodeLast: () -> Data
    var history: [(step: Int, train: Double, validation: Double?)] = []

    /// - Parameters:
    ///   - encodeBest: the bytes of `best` for an evaluation that improved the monitored value.
    ///   - encodeLast: the bytes of `last`: the model and the whole training state.
    public init(folder: RunFolder, chartTitle: String, yLabel: String, encodeBest: @escaping (TrainingRecord) -> Data,
                encodeLast: @escaping () -> Data) {
        self.folder = folder
        self.chartTitle = chartTitle
        self.yLabel = yLabel
        self.encodeBest = encodeBest
        self.encodeLast = encodeLast
    }

    /// Readies the folder and reads back the history a resumed run continues.
    public func trainingWillStart(step: Int) throws {
        history = try folder.prepare(resumingAt: step)
    }

    /// Metrics line, chart, `best` when improved, then `last`: each written atomically.
    public func didEvaluate(_ r: TrainingRecord) throws {
        if let train = r.trainLoss { history.append((r.step, train, r.evaluation?.loss)) }
        try folder.appendMetrics(r)
        try writeAtomically(Data(chart().utf8), to: folder.chartPath)
        if r.improved { try writeAtomically(encodeBest(r), to: folder.bestPath) }
        try writeAtomically(encodeLast(), to: folder.lastPath)
    }

    /// `last` alone, for a resume.
    public func didStopBetweenEvaluations(step: Int) throws {
        try writeAtomically(encodeLast(), to: folder.lastPath)
    }

    func chart() -> String {
        // The training loss is each interval's mean since the evaluation before: already smoothed.
        var series = [LineChart.Series(name: "train", points: history.map { (Double($0.step), $0.train) })]
        let validation = history.compactMap { h in h.validation.map { (Double(h.step), $0) } }
        if !validation.isEmpty { series.append(.init(name: "validation", points: validation)) }
        // A log axis when the losses span more than a decade (seq2seq and tag runs fall that far).
        let logY = LineChart.spansDecades(series.flatMap { $0.points.map(\.y) })
        return LineChart.document([LineChart(title: chartTitle, xLabel: "step", yLabel: yLabel, logY: logY, series: series)])
    }
}
