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
}
