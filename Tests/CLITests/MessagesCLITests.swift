import Foundation
import Recurrent
import XCTest

/// Messages that help: a file of the wrong kind, a folder for a file, a model given to the
/// other family's commands, results kept when a chart cannot be written, `--version`, and help
/// text wrapped once.
final class MessagesCLITests: ScratchFolderTestCase {
    func write(_ name: String, _ data: Data) -> String {
        _ = FileManager.default.createFile(atPath: path(name), contents: data)
        return path(name)
    }

    /// About 3000 characters of text for a tiny character model.
    func corpus() -> String {
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        return (0..<600).map { words[($0 * 7 + $0 / 3) % words.count] + ($0 % 9 == 8 ? "\n" : " ") }.joined()
    }

    /// A character model from `rnn train`.
    func trainCharModel() throws -> String {
        let text = write("corpus.txt", Data(corpus().utf8))
        let r = try runRNN(["train", "--text", text, "--steps", "5", "--hidden", "8", "--batch", "4", "--seq", "10",
                            "--out", path("char")])
        XCTAssertEqual(r.status, 0, r.stderr)
        return path("char/best.safetensors")
    }

    /// Roommate weeks as JSON Lines, written by `rnn data`.
    func roommateData() throws -> String {
        let r = try runRNN(["data", "roommate", "--count", "100"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return write("weeks.jsonl", Data(r.stdout.utf8))
    }

    func testPyTorchAndONNXFilesAreNamed() throws {
        // A .pt file is a zip archive; an ONNX model a protobuf opening with ir_version (field 1, a varint).
        let pt = write("model.pt", Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x08, 0x00, 0x00] + Array("archive/data.pkl".utf8)))
        let onnx = write("model.onnx", Data([0x08, 0x08, 0x12, 0x07] + Array("pytorch".utf8) + [0x1A, 0x03] + Array("2.1".utf8)))
        expectOneLineError(try runRNN(["sample", "--checkpoint", pt]),
                           ["\(pt): a PyTorch .pt file: save it with safetensors.torch.save_file (see the README)"])
        expectOneLineError(try runRNN(["sample", "--checkpoint", onnx]), ["\(onnx): an ONNX model: rnn reads safetensors checkpoints"])
        expectOneLineError(try runRNN(["inspect", pt]), ["a PyTorch .pt file"])
        // rnn's own ONNX export is recognised too.
        let checkpoint = try trainCharModel()
        let exported = path("char.onnx")
        XCTAssertEqual(try runRNN(["export", "--checkpoint", checkpoint, "--onnx", exported]).status, 0)
        expectOneLineError(try runRNN(["score", "--checkpoint", exported, "--text", path("corpus.txt")]), ["an ONNX model"])
        // Anything else that is not safetensors.
        expectOneLineError(try runRNN(["sample", "--checkpoint", path("corpus.txt")]), ["not a safetensors file"])
    }

    func testAFolderWhereAFileBelongsIsNamed() throws {
        let folder = path("runs")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        expectOneLineError(try runRNN(["sample", "--checkpoint", folder]), ["\(folder): is a folder, expected a .safetensors file"])
        expectOneLineError(try runRNN(["inspect", folder]), ["is a folder"])
        expectOneLineError(try runRNN(["train", "--text", folder, "--out", path("out")]), ["\(folder): is a folder, expected a text file"])
        expectOneLineError(try runRNN(["fit", "--task", "tag", "--data", folder, "--out", path("out")]), ["is a folder"])
        expectOneLineError(try runRNN(["sample", "--checkpoint", path("missing.safetensors")]), ["missing.safetensors: does not exist"])
        let file = write("file", Data())
        expectOneLineError(try runRNN(["train", "--text", write("t.txt", Data(corpus().utf8)), "--batch", "4", "--seq", "10", "--out", file]),
                           ["\(file): is a file, expected a folder for the run"])
    }

    func testATaskModelGivenToSampleOrScoreSaysWhatItIs() throws {
        let data = try roommateData()
        let fit = try runRNN(["fit", "--task", "tag", "--tokens", "word", "--data", data, "--epochs", "1", "--hidden", "8",
                              "--out", path("tag")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let checkpoint = path("tag/best.safetensors")
        let message = "\(checkpoint): a tag model from rnn fit, not a character model: use rnn predict or rnn evaluate"
        expectOneLineError(try runRNN(["sample", "--checkpoint", checkpoint]), [message])
        expectOneLineError(try runRNN(["score", "--checkpoint", checkpoint, "--text", write("t.txt", Data(corpus().utf8))]), [message])
    }

    func testACharacterModelGivenToPredictOrEvaluateSaysWhatItIs() throws {
        let checkpoint = try trainCharModel()
        let data = try roommateData()
        let message = "\(checkpoint): a character model from rnn train, not a task model: use rnn sample or rnn score"
        expectOneLineError(try runRNN(["predict", "--checkpoint", checkpoint, "--data", data]), [message])
        expectOneLineError(try runRNN(["evaluate", "--checkpoint", checkpoint, "--data", data]), [message])
    }

    func testCompareKeepsItsResultsWhenTheChartCannotBeWritten() throws {
        let svg = path("no-such-folder/chart.svg")
        let arguments = ["compare", "--task", "adding", "--length", "5", "--cells", "rnn,gru", "--hidden", "4", "--steps", "5",
                         "--batch", "8", "--svg", svg]
        let json = try runRNN(arguments + ["--json"])
        expectOneLineError(json, ["\(svg): the folder '\(path("no-such-folder"))' does not exist; create it first"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((object?["results"] as? [[String: Any]])?.compactMap { $0["cell"] as? String }, ["rnn", "gru"], json.stdout)
        let text = try runRNN(arguments)
        expectOneLineError(text, ["does not exist"])
        XCTAssertTrue(text.stdout.contains("test loss"), text.stdout)
        XCTAssertTrue(text.stdout.contains("‖∂L/∂h_t‖"), text.stdout)
        XCTAssertFalse(text.stdout.contains("Chart:"), text.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: svg))
    }

    func testVersion() throws {
        let r = try runRNN(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, recurrentVersion + "\n")
        XCTAssertNotNil(recurrentVersion.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression), recurrentVersion)
    }

    func testHelpShowsDefaultsComputedInCode() throws {
        // A wide terminal: each option's help on one line.
        let train = try runRNN(["help", "train"], environment: ["COLUMNS": "1000"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let lines = train.stdout.split(separator: "\n")
        func helpLine(_ option: String) -> String { lines.first { $0.hasPrefix("  \(option) ") }.map(String.init) ?? "" }
        XCTAssertTrue(helpLine("--epochs <epochs>").contains("(default: 10;"), helpLine("--epochs <epochs>"))
        XCTAssertTrue(helpLine("--seed <seed>").contains("(default: 1)"), helpLine("--seed <seed>"))
        XCTAssertTrue(helpLine("--steps <steps>").contains("(default: "), helpLine("--steps <steps>"))
        let fit = try runRNN(["help", "fit"], environment: ["COLUMNS": "1000"])
        XCTAssertTrue(fit.stdout.contains("Passes over the training data at most (default: 100;"), fit.stdout)
        XCTAssertTrue(fit.stdout.contains("everything random (default: 1)."), fit.stdout)
    }

    /// Help prose is written as whole paragraphs and wrapped once, by the parser, to the
    /// terminal: in a wide one no line of prose stops mid-sentence.
    func testHelpProseIsWrappedOnce() throws {
        let commands = [["train"], ["sample"], ["score"], ["fit"], ["predict"], ["evaluate"], ["data"], ["inspect"], ["import"],
                        ["export"], ["compare"], ["roommate"], ["bench", "cases"], ["bench", "train"], ["bench", "gemm"]]
        for command in commands {
            let r = try runRNN(["help"] + command, environment: ["COLUMNS": "1000"])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            // The discussion: after the overview, up to the examples or the usage.
            let text = r.stdout.components(separatedBy: "USAGE:")[0]
            var prose = true
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
                if line.hasPrefix("Examples:") { prose = false } else if line.isEmpty { prose = true }
                guard prose, !line.isEmpty, !line.hasPrefix(" ") else { continue }
                XCTAssertTrue(line.hasSuffix(".") || line.hasSuffix(":"),
                              "rnn help \(command.joined(separator: " ")): a line stops mid-sentence: \(line)")
            }
        }
        let train = try runRNN(["help", "train"], environment: ["COLUMNS": "1000"])
        XCTAssertTrue(train.stdout.contains("the last --val-fraction of the text is validation. DIR receives"), train.stdout)
    }
}
