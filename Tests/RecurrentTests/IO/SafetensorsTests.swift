import Foundation
import XCTest
@testable import Recurrent
@testable import RecurrentApps

final class SafetensorsTests: XCTestCase {
    func testRoundTripAndDeterministicBytes() throws {
        let entries: [SafetensorsFile.Entry] = [
            .init("b.weight", shape: [2, 3], floats: [1, -2, 3.5, 0, .infinity, -0.25]),
            .init("a.bias", shape: [2], floats: [7, 8]),
            .init("train.rng", shape: [3], words: [1, .max, 42]),
        ]
        let data = SafetensorsFile.encode(entries, metadata: ["config": "{\"x\": 1}", "note": "é\n\"q\""])
        XCTAssertEqual(data, SafetensorsFile.encode(entries, metadata: ["note": "é\n\"q\"", "config": "{\"x\": 1}"]))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
        let file = try SafetensorsFile(bytes: data)
        XCTAssertEqual(file.metadata, ["config": "{\"x\": 1}", "note": "é\n\"q\""])
        XCTAssertEqual(try file.floats("b.weight"), [1, -2, 3.5, 0, .infinity, -0.25])
        XCTAssertEqual(file["b.weight"]?.shape, [2, 3])
        XCTAssertEqual(try file.floats("a.bias"), [7, 8])
        XCTAssertEqual(try file.integers("train.rng"), [1, .max, 42])
        XCTAssertThrowsError(try file.floats("missing")) { XCTAssertEqual("\($0)", "<memory>: missing tensor 'missing'") }
        XCTAssertThrowsError(try file.floats("train.rng"))
    }

    /// A file by hand: header JSON and raw bytes.
    func file(_ header: String, _ payload: [UInt8], declaredLength: Int? = nil) -> Data {
        var d = Data()
        var n = UInt64(declaredLength ?? header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: payload)
        return d
    }

    func testHalfPrecisionConversions() throws {
        // F16: 1.0 = 0x3C00, -2.5 = 0xC100, 65504 = 0x7BFF, smallest subnormal 0x0001 = 2^-24, inf 0x7C00.
        // BF16: 1.0 = 0x3F80, -3.0 = 0xC040.
        let f16: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00]
        let bf16: [UInt16] = [0x3F80, 0xC040]
        func bytes(_ v: [UInt16]) -> [UInt8] { v.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }
        let header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[10,14]}}"
        let parsed = try SafetensorsFile(bytes: file(header, bytes(f16) + bytes(bf16)))
        XCTAssertEqual(try parsed.floats("h"), [1, -2.5, 65504, Float(sign: .plus, exponent: -24, significand: 1), .infinity])
        XCTAssertEqual(try parsed.floats("b"), [1, -3])
    }

    func testMalformedFilesAreRefusedWithReasons() {
        let good = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter than the 8-byte header length"),
            (file(good, [UInt8](repeating: 0, count: 8), declaredLength: 10_000), "runs past the end"),
            (file(good, [UInt8](repeating: 0, count: 8), declaredLength: 200_000_000), "larger than"),
            (file("[1,2]", []), "not a JSON object"),
            (file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", [0, 0, 0, 0]), "past the 4 data bytes"),
            (file("{\"w\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", [UInt8](repeating: 0, count: 8)), "unknown dtype 'Q7'"),
            (file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", [UInt8](repeating: 0, count: 8)), "needs 12 bytes"),
            (file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                  [UInt8](repeating: 0, count: 8)), "overlap"),
            (file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", [UInt8](repeating: 0, count: 8)), "invalid shape"),
            (file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", [UInt8](repeating: 0, count: 8)), "invalid data_offsets"),
            (file("{\"__metadata__\":{\"k\":3}}", []), "not a string"),
        ]
        for (data, reason) in cases {
            XCTAssertThrowsError(try SafetensorsFile(bytes: data, path: "x.safetensors")) { error in
                XCTAssertTrue("\(error)".hasPrefix("x.safetensors: not a valid safetensors file: "), "\(error)")
                XCTAssertTrue("\(error)".contains(reason), "\(error) lacks \(reason)")
            }
        }
    }

    /// Other formats are named by their first bytes; a safetensors header whose length happens
    /// to start like one of them is still read as safetensors.
    func testOtherFormatsAreNamedAndSafetensorsIsNotMistakenForThem() throws {
        let cases: [(Data, String)] = [
            (Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x08, 0x00, 0x00] + Array("archive/data.pkl".utf8)),
             "x.safetensors: a PyTorch .pt file: save it with safetensors.torch.save_file (see the README)"),
            (Data([0x08, 0x08, 0x12, 0x07] + Array("pytorch".utf8) + [0x1A, 0x03] + Array("2.1".utf8)),
             "x.safetensors: an ONNX model: rnn reads safetensors checkpoints"),
            (Data("ROMEO: what light through yonder window breaks".utf8),
             "x.safetensors: not a safetensors file (it does not start with an 8-byte header length and a JSON header)"),
        ]
        for (data, message) in cases {
            XCTAssertThrowsError(try SafetensorsFile(bytes: data, path: "x.safetensors")) { XCTAssertEqual("\($0)", message) }
        }
        // Header length 264 = 0x108: the first bytes 0x08 0x01 read like an ONNX ir_version.
        let metadata = "{\"__metadata__\":{\"k\":\"v\"}}"
        let header = metadata + String(repeating: " ", count: 264 - metadata.utf8.count)
        let valid = file(header, [])
        XCTAssertEqual(Array(valid.prefix(2)), [0x08, 0x01])
        XCTAssertEqual(try SafetensorsFile(bytes: valid).metadata, ["k": "v"])
        XCTAssertThrowsError(try SafetensorsFile(bytes: valid.prefix(100), path: "x.safetensors")) {
            XCTAssertTrue("\($0)".contains("not a valid safetensors file: header length 264 runs past the end"), "\($0)")
        }
    }
}
