import Foundation
import XCTest
@testable import Recurrent

/// File errors reach the user in plain words, never as Foundation's error text.
final class FilesTests: XCTestCase {
    func testReadFileSaysWhatIsWrong() throws {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = (folder as NSString).appendingPathComponent("a.bin")
        _ = FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3]))
        XCTAssertEqual(try readFile(file), Data([1, 2, 3]))
        let missing = (folder as NSString).appendingPathComponent("missing.bin")
        XCTAssertThrowsError(try readFile(missing)) { XCTAssertEqual("\($0)", "\(missing): does not exist") }
        XCTAssertThrowsError(try readFile(folder, expected: "a checkpoint")) {
            XCTAssertEqual("\($0)", "\(folder): is a folder, expected a checkpoint")
        }
    }

    func testFoundationErrorsBecomeTheSystemsWords() throws {
        let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("rnn-files-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: folder, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A real Foundation error, its POSIX cause underneath: a folder inside a file.
        XCTAssertThrowsError(try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)) {
            XCTAssertEqual(ioReason($0), "not a directory")
        }
        XCTAssertEqual(ioReason(CocoaError(.fileReadNoPermission)), "permission denied")
        XCTAssertEqual(ioReason(CocoaError(.fileReadUnknown)), "input/output error")
        XCTAssertEqual(ioReason(POSIXError(.ENOSPC)), "no space left on device")
    }
}
