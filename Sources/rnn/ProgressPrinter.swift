import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

/// A live progress line on a terminal (redrawn at most ten times a second); plain log lines
/// otherwise (the first step, then one every 10 seconds). A step that shows nothing costs a
/// clock read: the line is formatted only when it is shown.
final class ProgressPrinter {
    let terminal = isatty(STDOUT_FILENO) != 0
    var lastLog = Date.distantPast
    var onLine = false

    func show(_ event: TrainingEvent) {
        switch event {
        case let .step(step, total, epoch, loss, rate, left):
            let now = Date()
            guard step == 1 || (terminal && step == total) || now.timeIntervalSince(lastLog) >= (terminal ? 0.1 : 10) else {
                return
            }
            lastLog = now
            let line = String(format: "step %d/%d  epoch %.2f  loss %.4f  %.0f tok/s  ETA %@", step, total, epoch, loss, rate,
                              Self.duration(left))
            if terminal {
                print("\r\u{1B}[K" + line, terminator: "")
                onLine = true
            } else {
                print(line)
            }
        case let .evaluation(step, trainLoss, validation, improved):
            if onLine { print(); onLine = false }
            let v = validation.map { String(format: "  validation %.4f%@", $0, improved ? " (best)" : "") } ?? ""
            print(String(format: "step %d  train %.4f", step, trainLoss) + v)
        }
        fflush(nil)
    }

    func finish() { if onLine { print(); onLine = false } }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
