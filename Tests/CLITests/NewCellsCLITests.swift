import Foundation
import XCTest

/// The cells registered after the first four, through every command that takes a cell.
final class NewCellsCLITests: ScratchFolderTestCase {
    func write(_ name: String, _ text: String) -> String {
        FileManager.default.createFile(atPath: path(name), contents: Data(text.utf8))
        return path(name)
    }

    func testMinGRUAndMinLSTMTrainSampleFitCompareAndExport() throws {
        var text = "", i = 0
        let words = ["to", "be", "or", "not", "that", "is", "the", "question"]
        while text.count < 4000 { text += words[(i * 3 + i / 5) % words.count] + (i % 9 == 8 ? ".\n" : " "); i += 1 }
        let corpus = write("corpus.txt", text)
        for cell in ["mingru", "minlstm"] {
            let out = path("run-\(cell)")
            let train = try runRNN(["train", "--text", corpus, "--cell", cell, "--hidden", "16", "--layers", "2", "--batch", "4",
                                    "--seq", "20", "--steps", "30", "--eval-every", "15", "--out", out])
            XCTAssertEqual(train.status, 0, train.stderr)
            XCTAssertTrue(train.stdout.contains("2×16 \(cell)"), train.stdout)
            let best = (out as NSString).appendingPathComponent("best.safetensors")
            let sample = try runRNN(["sample", "--checkpoint", best, "--length", "30", "--seed", "2"])
            XCTAssertEqual(sample.status, 0, sample.stderr)
            XCTAssertEqual(sample.stdout, try runRNN(["sample", "--checkpoint", best, "--length", "30", "--seed", "2"]).stdout)
            let bf16 = try runRNN(["sample", "--checkpoint", best, "--length", "30", "--seed", "2", "--precision", "bf16"])
            XCTAssertEqual(bf16.status, 0, bf16.stderr)
            let inspect = try runRNN(["inspect", best])
            XCTAssertTrue(inspect.stdout.contains(cell), inspect.stdout)
            let export = try runRNN(["export", "--checkpoint", best, "--onnx", path("\(cell).onnx")])
            XCTAssertEqual(export.status, 1)
            XCTAssertTrue(export.stderr.contains("a cell ONNX has an operator for"), export.stderr)
            XCTAssertEqual(export.stderr.split(separator: "\n").count, 1, export.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("\(cell).onnx")))
        }
        let weeks = try runRNN(["data", "roommate", "--count", "200", "--seed", "4"])
        let fit = try runRNN(["fit", "--task", "tag", "--tokens", "word", "--cell", "minlstm", "--bidirectional", "--hidden", "8",
                              "--epochs", "2", "--data", write("weeks.jsonl", weeks.stdout), "--out", path("fit")])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let compare = try runRNN(["compare", "--task", "adding", "--length", "8", "--cells", "lstm,mingru,minlstm",
                                  "--hidden", "8", "--steps", "20", "--json", "--svg", path("c.svg")])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let result = try JSONSerialization.jsonObject(with: Data(compare.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((result?["results"] as? [[String: Any]])?.compactMap { $0["cell"] as? String }, ["lstm", "mingru", "minlstm"])
    }
}
