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
            """)

    @Option(help: "classify, regress, tag, seq2seq or caption.")
    var task: String

    @Option(help: "Training data (JSON Lines).")
    var data: String

    @Option(help: "Validation data (JSON Lines); default: a seeded 10% of --data.")
    var valid: String?

    @Option(help: "Text inputs as char or word tokens.")
    var tokens: String = "char"

    @Option(help: "lstm, gru, rnn (tanh) or rnn_relu.")
    var cell: String = "lstm"

    @Option(help: "Hidden units per layer.")
    var hidden: Int = 128

    @Option(help: "Recurrent layers.")
    var layers: Int = 1

    @Option(help: "Embedding size for text input.")
    var embedding: Int = 64

    @Flag(help: "Read sequences in both directions (the encoder, for seq2seq).")
    var bidirectional = false

    @Option(help: "classify/regress: final (the final state) or mean (mean over steps).")
    var pooling: String = "final"

    @Option(help: "seq2seq attention: dot, general or additive (default: none).")
    var attention: String?

    @Option(help: "Passes over the training data.")
    var epochs: Int = 10

    @Option(help: "Examples per batch.")
    var batch: Int = 32

    @Option(help: "Adam learning rate.")
    var lr: Float = 2e-3

    @Option(help: "Multiply the learning rate by this after every epoch.")
    var lrDecay: Float = 1

    @Option(help: "Dropout between layers.")
    var dropout: Float = 0

    @Option(help: "Seed.", transform: parseSeed)
    var seed: UInt64 = 1

    @Option(help: "A bad line: stop (report it) or skip (count it).")
    var onError: String = "stop"

    @Option(help: "Output folder.")
    var out: String

    func validate() throws {
        guard SequenceTaskKind(rawValue: task) != nil else {
            throw ValidationError("invalid task '\(task)': expected classify, regress, tag, seq2seq or caption")
        }
        guard Tokenization(rawValue: tokens) != nil else { throw ValidationError("invalid tokens '\(tokens)': expected char or word") }
        do { _ = try CellKind(parsing: cell) } catch { throw ValidationError("\(error)") }
        guard Pooling(rawValue: pooling) != nil else { throw ValidationError("invalid pooling '\(pooling)': expected final or mean") }
        guard OnError(rawValue: onError) != nil else { throw ValidationError("invalid on-error '\(onError)': expected stop or skip") }
    }

    func run() throws {
        var o = TaskTrainingOptions(kind: SequenceTaskKind(rawValue: task)!)
        o.tokenization = Tokenization(rawValue: tokens)!
        o.cell = try CellKind(parsing: cell)
        o.hiddenSize = hidden
        o.layers = layers
        o.embeddingSize = embedding
        o.bidirectional = bidirectional
        o.pooling = Pooling(rawValue: pooling)!
        o.attention = attention
        o.epochs = epochs
        o.batch = batch
        o.learningRate = lr
        o.learningRateDecay = lrDecay
        o.dropout = dropout
        o.seed = seed
        o.onError = OnError(rawValue: onError)!
        let trainer = try TaskTrainer(data: data, validation: valid, options: o, output: out)
        let stop = StopFlag.installForInterrupt()
        let progress = ProgressPrinter()
        let summary = try trainer.run(shouldStop: { stop.isSet }) { progress.show($0) }
        progress.finish()
        let skipped = summary.skippedLines > 0 ? ", \(summary.skippedLines) bad lines skipped" : ""
        print("\(summary.trainingExamples) training and \(summary.validationExamples) validation examples\(skipped); "
              + "best validation loss \(summary.bestValidationLoss.map { String(format: "%.4f", $0) } ?? "-"); checkpoints in \(out)")
        if summary.interrupted { Foundation.exit(130) }
    }
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

    @Option(help: "Beam width for sequence outputs (1: greedy).")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: String = "stop"

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
        guard OnError(rawValue: onError) != nil else { throw ValidationError("invalid on-error '\(onError)': expected stop or skip") }
    }

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: checkpoint)
        let (lines, skipped) = try predictor.predict(data: data, beam: beam, onError: OnError(rawValue: onError)!)
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

    @Option(help: "Beam width for sequence outputs.")
    var beam: Int = 1

    @Option(help: "A bad line: stop or skip.")
    var onError: String = "stop"

    @Flag(help: "Print one flat JSON object of the metrics.")
    var json = false

    func validate() throws {
        guard beam >= 1 && beam <= 1000 else { throw ValidationError("invalid beam '\(beam)': expected 1...1000") }
        guard OnError(rawValue: onError) != nil else { throw ValidationError("invalid on-error '\(onError)': expected stop or skip") }
    }

    func run() throws {
        let predictor = try TaskPredictor(checkpoint: checkpoint)
        let result = try predictor.evaluate(data: data, beam: beam, onError: OnError(rawValue: onError)!)
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
    var name: String

    @Option(help: "Examples (default: 50000 for addition, 2000 otherwise).")
    var count: Int?

    @Option(help: "Seed.", transform: parseSeed)
    var seed: UInt64 = 1

    func validate() throws {
        guard ExampleData(rawValue: name) != nil else {
            throw ValidationError("unknown dataset '\(name)': expected addition, roommate or captions")
        }
        if let count, count < 1 || count > 10_000_000 { throw ValidationError("invalid count '\(count)': expected 1...10000000") }
    }

    func run() throws {
        let data = ExampleData(rawValue: name)!
        let lines = data.lines(count: count ?? data.defaultCount, seed: seed)
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
