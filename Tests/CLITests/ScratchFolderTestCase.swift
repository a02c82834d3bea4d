import Foundation
import XCTest

/// A test case with a fresh temporary folder for each test, removed after it.
class ScratchFolderTestCase: XCTestCase {
    /// The folder of the running test.
    var dir = ""

    override func setUp() {
        dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-\(type(of: self))-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// `name` inside the test's folder.
    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// A real task checkpoint, for the commands that must refuse one: a tiny classifier trained
    /// by `rnn fit` in this folder; returns its best.safetensors.
    func tinyTaskCheckpoint(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let data = path("data.jsonl")
        XCTAssertTrue(FileManager.default.createFile(atPath: data, contents: Data(
            "{\"input\": \"ab\", \"target\": \"x\"}\n{\"input\": \"ba\", \"target\": \"y\"}\n{\"input\": \"aab\", \"target\": \"x\"}\n".utf8)),
                      file: file, line: line)
        let fit = try runRNN(["fit", "--task", "classify", "--data", data, "--valid", data, "--hidden", "3", "--embedding", "2",
                              "--epochs", "1", "--out", path("fit")])
        XCTAssertEqual(fit.status, 0, fit.stderr, file: file, line: line)
        return path("fit/best.safetensors")
    }
}
