import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a sequence task on JSON Lines data: classify, regress, tag, seq2seq, caption.",
        discussion: """
            Each line of the data is {"input": ..., "target": ..., "id": ...}: input a string (tokenised by
            --tokens), an array of numeric steps [[...], ...], or (caption) one numeric vector; target a
            label (classify), a number or numbers (regress), a label per input step (tag), or a string
            (seq2seq, caption). Without --valid a seeded 10% of the data is held out.

            Examples:
              rnn data roommate > weeks.jsonl && rnn fit --task tag --tokens word --data weeks.jsonl --out runs/weeks
              rnn fit --task classify --data reviews.jsonl --tokens word --bidirectional --pooling mean --out runs/sentiment
              rnn data addition > addition.jsonl && rnn fit --task seq2seq --data addition.jsonl --attention general --lr 0.005 --lr-decay 0.9 --epochs 30 --batch 64 --out runs/add
              rnn fit --resume runs/add --epochs 40                        continue to 40 epochs
            """)

    @Option(help: "classify, regress, tag, seq2seq or caption.")
    var task: SequenceTaskKind?

    @Option(help: "Training data (JSON Lines).")
    var data: String?

    @Option(help: "Validation data (JSON Lines); default: a seeded 10% of --data.")
    var valid: String?

    @Option(help: "Text inputs as char or word tokens (default: char).")
    var tokens: Tokenization?

    @OptionGroup(title: "Model") var model: ModelOptions

    @Flag(help: "Read sequences in both directions (the encoder, for seq2seq).")
    var bidirectional = false

    @Option(help: "classify/regress: final (the final state) or mean (mean over steps) (default: final).")
    var pooling: Pooling?

    @Option(help: "seq2seq attention: dot, general or additive (default: none).")
    var attention: AttentionKind?

    @OptionGroup(title: "Optimisation") var optimization: OptimizationOptions

    @Option(help: "What picks best.safetensors and drives --patience: loss or accuracy (default: loss).")
    var monitor: MonitorChoice?

    @Option(parsing: .unconditional, help: "Passes over the training data (default: 10).", transform: atLeast(1, "epochs"))
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Examples per batch (default: 32).", transform: atLeast(1, "batch"))
    var batch: Int?

    @Option(help: "Seed (default: 1).", transform: parseSeed)
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
            if let out, out != resume {
                throw ValidationError("--out '\(out)' differs from --resume '\(resume)': a resumed run writes into its own folder")
            }
            let fixed = model.given + optimization.fixedByTheRun
                + [("--task", task != nil), ("--data", data != nil), ("--valid", valid != nil), ("--tokens", tokens != nil),
                   ("--bidirectional", bidirectional), ("--pooling", pooling != nil), ("--attention", attention != nil),
                   ("--monitor", monitor != nil), ("--batch", batch != nil), ("--seed", seed != nil)].filter(\.1).map(\.0)
            if let flag = fixed.first {
                throw ValidationError("\(flag) is fixed by the run in \(resume); resume without it, or start a new run with --out")
            }
        } else {
            guard task != nil else { throw ValidationError("missing --task: classify, regress, tag, seq2seq or caption (or --resume DIR)") }
            guard data != nil else { throw ValidationError("missing --data FILE") }
            guard out != nil else { throw ValidationError("missing --out DIR: the folder for checkpoints and metrics") }
        }
        _ = try optimization.schedule()
    }

    func run() throws {
        kernelThreads.apply()
        let trainer: TaskTrainer
        if let resume {
            trainer = try TaskTrainer(resume: resume, epochs: epochs, learningRate: optimization.lr)
            print("resuming \(trainer.spec.kind.rawValue) at epoch \(trainer.step / trainer.stepsPerEpoch) of "
                  + "\(trainer.totalSteps / trainer.stepsPerEpoch)" + (optimization.lr.map { ", learning rate now \($0)" } ?? ""))
        } else {
            var o = TaskTrainingOptions(kind: task!)
            o.tokenization = tokens ?? o.tokenization
            o.cell = model.cell ?? o.cell
            o.hiddenSize = model.hidden ?? o.hiddenSize
            o.layers = model.layers ?? o.layers
            o.embeddingSize = model.embedding ?? o.embeddingSize
            o.dropout = model.dropout ?? o.dropout
            o.bidirectional = bidirectional
            o.pooling = pooling ?? o.pooling
            o.attention = attention?.rawValue
            o.optimizer = optimization.optimizer ?? o.optimizer
            o.learningRate = optimization.lr ?? o.learningRate
            // `--lr-decay G` alone keeps its meaning here: × G after every epoch.
            o.schedule = optimization.lrSchedule == nil && optimization.lrDecay != nil ? nil : try optimization.schedule()
            o.learningRateDecay = optimization.lrDecay ?? o.learningRateDecay
            o.clip = optimization.clip ?? o.clip
            o.patience = optimization.patience
            o.monitor = monitor?.monitor ?? o.monitor
            o.epochs = epochs ?? o.epochs
            o.batch = batch ?? o.batch
            o.seed = seed ?? o.seed
            o.onError = onError
            trainer = try TaskTrainer(data: data!, validation: valid, options: o, output: out!)
        }
        if trainer.step >= trainer.totalSteps {
            print("the run in \(trainer.output) has already trained \(trainer.step / trainer.stepsPerEpoch) epochs: "
                  + "nothing to train; give --epochs beyond it")
            return
        }
        let stop = StopFlag.install()
        let progress = ProgressPrinter()
        let summary = try trainer.run(shouldStop: { stop.isSet }) { progress.show($0) }
        progress.finish()
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

/// `--monitor`: the validation value that picks the best checkpoint.
enum MonitorChoice: String, ExpressibleByArgument, CaseIterable {
    case loss, accuracy
    var monitor: Monitor { self == .loss ? .loss : .metric("accuracy") }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with a model trained by rnn fit: one JSON line per example.",
        discussion: """
            Writes {"id": ..., "prediction": ..., "probability": ...} per line ("log_probability" for
            sequence outputs). Targets in the data are ignored.

            Examples:
              rnn predict --checkpoint runs/weeks/best.safetensors --data weeks.jsonl
              rnn predict --checkpoint runs/add/best.safetensors --data questions.jsonl --beam 4
            """)

    @Option(help: "A checkpoint written by rnn fit.")
    var checkpoint: String

    @Option(help: "Examples (JSON Lines).")
    var data: String

    @Option(parsing: .unconditional, help: "Beam width for sequence outputs (1: greedy).")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: OnError = .stop

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
    }

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: checkpoint)
        let (lines, skipped) = try predictor.predict(data: data, beam: beam, onError: onError)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        if skipped > 0 { FileHandle.standardError.write(Data("skipped \(skipped) bad lines\n".utf8)) }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a model trained by rnn fit on labelled data.",
        discussion: """
            classify: accuracy, macro-F1, confusion matrix; regress: MSE and MAE next to predicting the
            training mean; tag: per-step accuracy; seq2seq and caption: exact match, token accuracy, and
            corpus BLEU for seq2seq.

            Examples:
              rnn evaluate --checkpoint runs/weeks/best.safetensors --data test.jsonl
              rnn evaluate --checkpoint runs/add/best.safetensors --data test.jsonl --json
            """)

    @Option(help: "A checkpoint written by rnn fit.")
    var checkpoint: String

    @Option(help: "Labelled examples (JSON Lines).")
    var data: String

    @Option(parsing: .unconditional, help: "Beam width for sequence outputs.")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: OnError = .stop

    @Flag(help: "Print one flat JSON object of the metrics.")
    var json = false

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
    }

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: checkpoint)
        let result = try predictor.evaluate(data: data, beam: beam, onError: onError)
        if json {
            print(JSON.object([("task", JSON.string(result.task.rawValue)), ("examples", "\(result.examples)")]
                              + result.metrics.map { ($0.0, JSON.number($0.1)) }))
            return
        }
        print("\(result.task.rawValue): \(result.examples) examples" + (result.skipped > 0 ? ", \(result.skipped) skipped" : ""))
        for (name, value) in result.metrics { print(String(format: "  %@ %.4f", name.padding(toLength: 14, withPad: " ", startingAt: 0), value)) }
        if let confusion = result.confusion {
            print("confusion matrix (rows: truth, columns: prediction):")
            let width = max(6, result.labels.map(\.count).max() ?? 0)
            print(String(repeating: " ", count: width + 1) + result.labels.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " "))
            for (label, row) in zip(result.labels, confusion) {
                print(label.padding(toLength: width, withPad: " ", startingAt: 0) + " "
                      + row.map { String($0).padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: " "))
            }
        }
    }
}

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Write an example dataset as JSON Lines: addition, roommate or captions.",
        discussion: """
            addition (seq2seq): "535+61" → "596"; roommate (tag, word tokens): weather → dishes;
            captions (caption, word tokens): 8×8 RGB images → "red square top left".

            Examples:
              rnn data addition > addition.jsonl
              rnn data roommate --count 500 --seed 2 > weeks.jsonl
              rnn data captions > captions.jsonl
            """)

    @Argument(help: "addition, roommate or captions.")
    var name: ExampleData

    @Option(parsing: .unconditional, help: "Examples (default: 50000 for addition, 2000 otherwise).")
    var count: Int?

    @Option(help: "Seed.", transform: parseSeed)
    var seed: UInt64 = 1

    func validate() throws {
        if let count, count < 1 || count > 10_000_000 { throw ValidationError("invalid count '\(count)': expected 1...10000000") }
    }

    func run() throws {
        let data = name
        let lines = data.lines(count: count ?? data.defaultCount, seed: seed)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
