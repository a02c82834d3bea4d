import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a character-level language model on a text file (char-rnn).",
        discussion: """
            The vocabulary is the file's distinct characters; the last --val-fraction of the text is \
            validation. DIR receives metrics.jsonl, loss.svg, best.safetensors (best validation loss) \
            and last.safetensors (everything needed to continue exactly); Ctrl-C or SIGTERM writes \
            last.safetensors and stops (exit 130 or 143). DIR is locked while the run lasts: a second \
            run into it is refused.

            Examples:
              rnn train --text input.txt --out runs/shakespeare
              rnn train --text input.txt --cell gru --hidden 256 --layers 2 --epochs 5 --out runs/gru
              rnn train --text input.txt --lr-schedule cosine --warmup 200 --patience 3 --out runs/cosine
              rnn train --resume runs/shakespeare --epochs 20          continue to 20 epochs
              rnn train --text input.txt --cell rnn --hidden 100 --seq 25 --batch 1 --optimizer adagrad --lr 0.1 --out runs/min-char-rnn
            """)

    /// The library's defaults, which the help texts quote.
    private static let defaults = CharTrainingOptions()

    @Option(help: "The training text (UTF-8).")
    var text: String?

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(parsing: .unconditional, help: "Streams per batch (default: \(defaults.batch)).", transform: atLeast(1, "batch"))
    var batch: Int?

    @Option(parsing: .unconditional, help: "Characters per chunk, the truncated BPTT length (default: \(defaults.sequence)).", transform: atLeast(1, "seq"))
    var seq: Int?

    @OptionGroup(title: "Optimisation") var optimization: OptimizationOptions

    @Option(parsing: .unconditional, help: "Epochs to train (default: \(defaults.epochs); ignored when --steps is given).", transform: atLeast(1, "epochs"))
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Total optimiser steps (default: --epochs passes over the text).", transform: atLeast(1, "steps"))
    var steps: Int?

    @Option(parsing: .unconditional, help: "Fraction of the text, at its end, held out for validation (default: \(defaults.validationFraction)).")
    var valFraction: Double?

    @Option(help: "Validate and checkpoint every N steps (default: once per epoch, at most every 1000).",
            transform: atLeast(1, "eval-every"))
    var evalEvery: Int?

    @Option(help: "Seed for the weights, dropout and everything random (default: \(defaults.seed)).", transform: parseSeed)
    var seed: UInt64?

    @Option(help: "Output folder.")
    var out: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Continue the run saved in this folder (--epochs, --steps and --lr may change).")
    var resume: String?

    func validate() throws {
        if let resume {
            try checkResume(resume, out: out, fixed: model.given + optimization.fixedByTheRun
                + [("--batch", batch != nil), ("--seq", seq != nil), ("--val-fraction", valFraction != nil),
                    ("--eval-every", evalEvery != nil), ("--seed", seed != nil)])
        } else {
            guard text != nil else { throw ValidationError("missing --text FILE (or --resume DIR)") }
            guard out != nil else { throw ValidationError("missing --out DIR: the folder for checkpoints and metrics") }
        }
        _ = try optimization.schedule()
    }

    func run() throws {
        kernelThreads.apply()
        let parallel = try ParallelLaunch.start()
        let trainer: CharTrainer
        if let resume {
            trainer = try CharTrainer(resume: resume, text: text, steps: steps, epochs: epochs, learningRate: optimization.lr,
                                      parallel: parallel)
        } else {
            var o = CharTrainingOptions()
            o.cell = model.cell ?? o.cell
            o.hiddenSize = model.hidden ?? o.hiddenSize
            o.projectedSize = model.projSize
            o.layers = model.layers ?? o.layers
            o.embeddingSize = model.embedding
            o.dropout = model.dropout ?? o.dropout
            o.outputDropout = model.outputDropout ?? o.outputDropout
            o.weightDrop = model.weightDrop ?? o.weightDrop
            o.batch = batch ?? o.batch
            o.sequence = seq ?? o.sequence
            o.optimizer = optimization.optimizer ?? o.optimizer
            o.learningRate = optimization.lr ?? o.learningRate
            o.schedule = try optimization.schedule() ?? o.schedule
            o.clip = optimization.clip ?? o.clip
            o.patience = optimization.patience.map { $0 == 0 ? nil : $0 } ?? o.patience
            o.averageDecay = optimization.ema
            o.matmulPrecision = optimization.matmulPrecision ?? o.matmulPrecision
            o.epochs = epochs ?? o.epochs
            o.steps = steps
            o.validationFraction = valFraction ?? o.validationFraction
            o.evaluateEvery = evalEvery
            o.seed = seed ?? o.seed
            trainer = try CharTrainer(text: text!, options: o, output: out!, parallel: parallel)
        }
        let c = trainer.model.configuration
        print("\(c.layerShape) \(c.cell.displayName), vocabulary \(c.vocabulary.count), "
              + "\(trainer.model.arena.parameters.reduce(0) { $0 + $1.count }) parameters; "
              + "\(trainer.stepsPerEpoch) steps per epoch, \(trainer.totalSteps) in all"
              + (trainer.step > 0 ? ", resuming at step \(trainer.step)" : "")
              + (resume != nil && optimization.lr != nil ? ", learning rate now \(optimization.lr!)" : "")
              + (parallel.map { ", \($0.size) ranks" } ?? ""))
        OptimizationOptions.noteMatmulPrecision(trainer.options.matmulPrecision)
        if trainer.step >= trainer.totalSteps {
            print("the run in \(trainer.output) has already taken \(trainer.step) steps of \(trainer.totalSteps): nothing to train; "
                  + "give --steps or --epochs beyond it")
            ParallelLaunch.finish(arena: trainer.model.arena, steps: 0)
            return
        }
        let stop = StopFlag.install()
        let progress = ProgressPrinter()
        let summary = try trainer.run(shouldStop: { stop.isSet }) { event in progress.show(event) }
        progress.finish()
        ParallelLaunch.finish(arena: trainer.model.arena, steps: summary.steps)
        if summary.interrupted {
            print("interrupted at step \(summary.steps); checkpoint written to \(summary.lastCheckpoint); "
                  + "continue with: rnn train --resume \(trainer.output)")
            Foundation.exit(stop.exitStatus)
        }
        let best = summary.bestValidationLoss.map { String(format: ", best validation loss %.4f", $0) } ?? ""
        let early = summary.reason == .earlyStopped ? " (stopped early: no better validation loss for --patience evaluations)" : ""
        print("done: \(summary.steps) steps\(best); checkpoints in \(trainer.output)\(early)")
    }
}
