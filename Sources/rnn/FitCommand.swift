import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a sequence task on JSON Lines data: classify, regress, tag, seq2seq, caption.",
        discussion: """
            Each line of the data is {"input": ..., "target": ..., "id": ...}: input a string (tokenised by \
            --tokens), an array of numeric steps [[...], ...], or (caption) one numeric vector; target a \
            label (classify), a number or numbers (regress), a label per input step (tag), or a string \
            (seq2seq, caption). Without --valid a seeded 10% of the data is held out.

            Examples:
              rnn data roommate > weeks.jsonl && rnn fit --task tag --tokens word --data weeks.jsonl --out runs/weeks
              rnn fit --task classify --data reviews.jsonl --tokens word --bidirectional --pooling mean --out runs/sentiment
              rnn data addition > addition.jsonl && rnn fit --task seq2seq --data addition.jsonl --attention general --lr 0.005 --lr-decay 0.9 --epochs 30 --batch 64 --out runs/add
              rnn fit --resume runs/add --epochs 40                        continue to 40 epochs
            """)

    /// The library's defaults, which the help texts quote (they are the same for every task).
    private static let defaults = TaskTrainingOptions(kind: .classify)

    @Option(help: "classify, regress, tag, seq2seq or caption.")
    var task: SequenceTaskKind?

    @Option(help: "Training data (JSON Lines).")
    var data: String?

    @Option(help: "Validation data (JSON Lines); default: a seeded 10% of --data.")
    var valid: String?

    @Option(help: "Text inputs as char or word tokens (default: char). Words are lowercased and punctuation is split from them (but for tag, whose labels count the whitespace-separated steps).")
    var tokens: Tokenization?

    @Flag(help: "Word tokens keep their case.")
    var keepCase = false

    @OptionGroup(title: "Model") var model: ModelOptions

    @Flag(help: "Read sequences in both directions (the encoder, for seq2seq).")
    var bidirectional = false

    @Option(help: "classify/regress: final (the final state) or mean (mean over steps) (default: final).")
    var pooling: Pooling?

    @Option(help: "seq2seq attention: none, dot, general or additive (default: general).")
    var attention: AttentionChoice?

    @OptionGroup(title: "Optimisation") var optimization: OptimizationOptions

    @Option(help: "What picks best.safetensors and drives --patience and the plateau schedule: loss or accuracy (default: accuracy for seq2seq and caption, loss otherwise).")
    var monitor: MonitorChoice?

    @Option(parsing: .unconditional, help: "Passes over the training data at most (default: \(defaults.epochs); early stopping after --patience epochs without a better validation value usually ends the run first).", transform: atLeast(1, "epochs"))
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Examples per batch (default: \(defaults.batch)).", transform: atLeast(1, "batch"))
    var batch: Int?

    @Option(help: "Seed for the weights, the held-out split and everything random (default: \(defaults.seed)).", transform: parseSeed)
    var seed: UInt64?

    @Option(help: "A bad line: stop (report it) or skip (count it).")
    var onError: OnError = .stop

    @Option(help: "Output folder.")
    var out: String?

    @OptionGroup var kernelThreads: KernelThreads

    @Option(help: "Continue the run saved in this folder on its data (--epochs and --lr may change).")
    var resume: String?

    func validate() throws {
        if let resume {
            try checkResume(resume, out: out, fixed: model.given + optimization.fixedByTheRun
                + [("--task", task != nil), ("--data", data != nil), ("--valid", valid != nil), ("--tokens", tokens != nil),
                    ("--bidirectional", bidirectional), ("--keep-case", keepCase), ("--pooling", pooling != nil), ("--attention", attention != nil),
                    ("--monitor", monitor != nil), ("--batch", batch != nil), ("--seed", seed != nil)])
        } else {
            guard task != nil else { throw ValidationError("missing --task: classify, regress, tag, seq2seq or caption (or --resume DIR)") }
            guard data != nil else { throw ValidationError("missing --data FILE") }
            guard out != nil else { throw ValidationError("missing --out DIR: the folder for checkpoints and metrics") }
        }
        _ = try optimization.schedule()
    }

    func run() throws {
        kernelThreads.apply()
        let parallel = try ParallelLaunch.start()
        let trainer: TaskTrainer
        if let resume {
            trainer = try TaskTrainer(resume: resume, epochs: epochs, learningRate: optimization.lr, parallel: parallel)
            print("resuming \(trainer.spec.kind.rawValue) at epoch \(trainer.step / trainer.stepsPerEpoch) of "
                  + "\(trainer.totalSteps / trainer.stepsPerEpoch)" + (optimization.lr.map { ", learning rate now \($0)" } ?? ""))
        } else {
            var o = TaskTrainingOptions(kind: task!)
            o.tokenization = tokens ?? o.tokenization
            o.keepCase = keepCase
            o.cell = model.cell ?? o.cell
            o.hiddenSize = model.hidden ?? o.hiddenSize
            o.projectedSize = model.projSize
            o.layers = model.layers ?? o.layers
            o.embeddingSize = model.embedding ?? o.embeddingSize
            o.dropout = model.dropout ?? o.dropout
            o.outputDropout = model.outputDropout ?? o.outputDropout
            o.weightDrop = model.weightDrop ?? o.weightDrop
            o.bidirectional = bidirectional
            o.pooling = pooling ?? o.pooling
            o.attention = attention.map(\.kind) ?? o.attention
            o.optimizer = optimization.optimizer ?? o.optimizer
            o.learningRate = optimization.lr ?? o.learningRate
            // `--lr-decay G` alone keeps its meaning here: × G after every epoch; no flag keeps the default.
            if optimization.lrSchedule != nil || optimization.lrDecay != nil {
                o.schedule = optimization.lrSchedule == nil ? nil : try optimization.schedule()
            }
            o.learningRateDecay = optimization.lrDecay ?? o.learningRateDecay
            o.clip = optimization.clip ?? o.clip
            o.patience = optimization.patience.map { $0 == 0 ? nil : $0 } ?? o.patience
            o.monitor = monitor?.monitor ?? o.monitor
            o.averageDecay = optimization.ema
            o.matmulPrecision = optimization.matmulPrecision ?? o.matmulPrecision
            o.epochs = epochs ?? o.epochs
            o.batch = batch ?? o.batch
            o.seed = seed ?? o.seed
            o.onError = onError
            trainer = try TaskTrainer(data: data!, validation: valid, options: o, output: out!, parallel: parallel)
        }
        OptimizationOptions.noteMatmulPrecision(trainer.options.matmulPrecision)
        if trainer.step >= trainer.totalSteps {
            print("the run in \(trainer.output) has already trained \(trainer.step / trainer.stepsPerEpoch) epochs: "
                  + "nothing to train; give --epochs beyond it")
            ParallelLaunch.finish(arena: trainer.arena, steps: 0)
            return
        }
        let stop = StopFlag.install()
        let progress = ProgressPrinter()
        let summary = try trainer.run(shouldStop: { stop.isSet }) { progress.show($0) }
        progress.finish()
        ParallelLaunch.finish(arena: trainer.arena, steps: summary.steps)
        let skipped = summary.skippedLines > 0 ? ", \(summary.skippedLines) bad lines skipped" : ""
        let best = summary.bestValidationLoss.map { String(format: "best validation loss %.4f", $0) }
            ?? "best by validation \(trainer.options.monitor == .loss ? "loss" : "accuracy")"
        let early = summary.reason == .earlyStopped ? " (stopped early after epoch \(summary.epochs): no improvement for --patience epochs)" : ""
        print("\(summary.trainingExamples) training and \(summary.validationExamples) validation examples\(skipped); "
              + "\(best); checkpoints in \(trainer.output)\(early)")
        if summary.interrupted {
            print("interrupted at step \(summary.steps); continue with: rnn fit --resume \(trainer.output)")
            Foundation.exit(stop.exitStatus)
        }
    }
}
