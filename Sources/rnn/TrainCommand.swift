import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a character-level language model on a text file (char-rnn).",
        discussion: """
            The vocabulary is the file's distinct characters; the last --val-fraction of the text is
            validation. DIR receives metrics.jsonl, loss.svg, best.safetensors (best validation loss)
            and last.safetensors (everything needed to continue exactly); Ctrl-C writes
            last.safetensors and stops.

            Examples:
              rnn train --text input.txt --out runs/shakespeare
              rnn train --text input.txt --cell gru --hidden 256 --layers 2 --epochs 5 --out runs/gru
              rnn train --resume runs/shakespeare --epochs 20          continue to 20 epochs
              rnn train --text input.txt --cell rnn --hidden 100 --seq 25 --batch 1 --optimizer adagrad --lr 0.1 --out runs/min-char-rnn
            """)

    @Option(help: "The training text (UTF-8).")
    var text: String?

    @Option(help: "lstm, gru, rnn (tanh) or rnn_relu.")
    var cell: String = "lstm"

    @Option(help: "Hidden units per layer.")
    var hidden: Int = 128

    @Option(help: "Recurrent layers.")
    var layers: Int = 2

    @Option(help: "Embedding size (default: the hidden size).")
    var embedding: Int?

    @Option(help: "Streams per batch.")
    var batch: Int = 50

    @Option(help: "Characters per chunk (truncated BPTT length).")
    var seq: Int = 50

    @Option(help: "adam, adagrad, rmsprop or sgd.")
    var optimizer: String = "adam"

    @Option(help: "Learning rate.")
    var lr: Float = 2e-3

    @Option(help: "Global gradient-norm clip (0: off).")
    var clip: Float = 5

    @Option(help: "Dropout between layers.")
    var dropout: Float = 0

    @Option(help: "Epochs to train (ignored when --steps is given).")
    var epochs: Int?

    @Option(help: "Total optimiser steps.")
    var steps: Int?

    @Option(help: "Fraction of the text, at its end, held out for validation.")
    var valFraction: Double = 0.1

    @Option(help: "Validate and checkpoint every N steps (default: once per epoch, at most every 1000).")
    var evalEvery: Int?

    @Option(help: "Seed for the weights, dropout and everything random.", transform: parseSeed)
    var seed: UInt64 = 1

    @Option(help: "Output folder.")
    var out: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Continue the run saved in this folder.")
    var resume: String?

    func validate() throws {
        if resume == nil {
            guard text != nil else { throw ValidationError("missing --text FILE (or --resume DIR)") }
            guard out != nil else { throw ValidationError("missing --out DIR: the folder for checkpoints and metrics") }
            do { _ = try CellKind(parsing: cell) } catch { throw ValidationError("\(error)") }
            guard OptimizerKind(rawValue: optimizer) != nil else {
                throw ValidationError("invalid optimizer '\(optimizer)': expected adam, adagrad, rmsprop or sgd")
            }
        } else if let out, out != resume {
            throw ValidationError("--out '\(out)' differs from --resume '\(resume!)': a resumed run writes into its own folder")
        }
        if let epochs, epochs < 1 { throw ValidationError("invalid epochs '\(epochs)': expected at least 1") }
        if let steps, steps < 1 { throw ValidationError("invalid steps '\(steps)': expected at least 1") }
    }

    func run() throws {
        kernelThreads.apply()
        let trainer: CharTrainer
        if let resume {
            trainer = try CharTrainer(resume: resume, text: text, steps: steps, epochs: epochs)
        } else {
            var o = CharTrainingOptions()
            o.cell = try CellKind(parsing: cell)
            o.hiddenSize = hidden
            o.layers = layers
            o.embeddingSize = embedding
            o.batch = batch
            o.sequence = seq
            o.optimizer = OptimizerKind(rawValue: optimizer)!
            o.learningRate = lr
            o.clip = clip
            o.dropout = dropout
            o.epochs = epochs ?? 10
            o.steps = steps
            o.validationFraction = valFraction
            o.evaluateEvery = evalEvery
            o.seed = seed
            trainer = try CharTrainer(text: text!, options: o, output: out!)
        }
        let c = trainer.model.configuration
        print("\(c.layers)×\(c.hiddenSize) \(c.cell.displayName), vocabulary \(c.vocabulary.count), "
              + "\(trainer.model.arena.parameters.reduce(0) { $0 + $1.count }) parameters; "
              + "\(trainer.stepsPerEpoch) steps per epoch, \(trainer.totalSteps) in all"
              + (trainer.step > 0 ? ", resuming at step \(trainer.step)" : ""))
        let stop = StopFlag.installForInterrupt()
        let progress = ProgressPrinter()
        let summary = try trainer.run(shouldStop: { stop.isSet }) { event in progress.show(event) }
        progress.finish()
        if summary.interrupted {
            print("interrupted at step \(summary.steps); checkpoint written to \(summary.lastCheckpoint); "
                  + "continue with: rnn train --resume \(trainer.output)")
            Foundation.exit(130)
        }
        let best = summary.bestValidationLoss.map { String(format: ", best validation loss %.4f", $0) } ?? ""
        print("done: \(summary.steps) steps\(best); checkpoints in \(trainer.output)")
    }
}

/// Set once by the first Ctrl-C; a second Ctrl-C ends the process at once.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var source: DispatchSourceSignal?

    var isSet: Bool { lock.withLock { value } }

    static func installForInterrupt() -> StopFlag {
        let flag = StopFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            let already = flag.lock.withLock { () -> Bool in
                defer { flag.value = true }
                return flag.value
            }
            if already { Foundation.exit(130) }
            FileHandle.standardError.write(Data("\nstopping after this step (Ctrl-C again to quit at once)\n".utf8))
        }
        source.resume()
        flag.source = source
        return flag
    }
}

/// A live progress line on a terminal; plain log lines otherwise.
final class ProgressPrinter {
    let terminal = isatty(STDOUT_FILENO) != 0
    var lastLog = Date.distantPast
    var onLine = false

    func show(_ event: TrainingEvent) {
        switch event {
        case let .step(step, total, epoch, loss, rate, left):
            let line = String(format: "step %d/%d  epoch %.2f  loss %.4f  %.0f tok/s  ETA %@", step, total, epoch, loss, rate,
                              Self.duration(left))
            if terminal {
                print("\r\u{1B}[K" + line, terminator: "")
                onLine = true
                fflush(nil)
            } else if Date().timeIntervalSince(lastLog) >= 10 || step == 1 {
                print(line)
                lastLog = Date()
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
