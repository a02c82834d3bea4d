import Foundation
import Recurrent

/// A minimal Protocol Buffers wire-format writer: enough to serialise ONNX models.
///
/// Each field is a key — `(field number << 3) | wire type` as a varint — followed by its value:
/// wire type 0 (varint) for integers and enums, 2 (length-delimited) for strings, bytes and
/// nested messages, 5 (fixed32, little-endian) for `float`. Fields are written in the order the
/// caller writes them, so the same calls always give the same bytes.
package struct ProtobufWriter: Sendable {
    /// The bytes written so far.
    public private(set) var encoded: [UInt8] = []

    public init() {}

    enum WireType: UInt64 {
        case varint = 0
        case lengthDelimited = 2
        case fixed32 = 5
    }

    mutating func key(_ field: Int, _ type: WireType) {
        precondition(field >= 1 && field < 1 << 29, "protobuf field numbers are 1...2²⁹−1")
        rawVarint(UInt64(field) << 3 | type.rawValue)
    }

    /// Base-128 varint, least significant group first, high bit set on all but the last byte.
    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            encoded.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        encoded.append(UInt8(v))
    }

    /// An unsigned varint field (uint32, uint64, enums, bool).
    public mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, .varint)
        rawVarint(value)
    }

    /// An `int64` / `int32` field: two's complement as a varint (negative values take 10 bytes).
    public mutating func int64(_ field: Int, _ value: Int64) {
        varint(field, UInt64(bitPattern: value))
    }

    /// A `fixed32` field: four bytes, little-endian.
    public mutating func fixed32(_ field: Int, _ value: UInt32) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.littleEndian) { encoded.append(contentsOf: $0) }
    }

    /// A `float` field (fixed32 holding the IEEE 754 bits).
    public mutating func float(_ field: Int, _ value: Float) {
        fixed32(field, value.bitPattern)
    }

    /// A length-delimited `bytes` field.
    public mutating func bytes<C: Collection>(_ field: Int, _ value: C) where C.Element == UInt8 {
        key(field, .lengthDelimited)
        rawVarint(UInt64(value.count))
        encoded.append(contentsOf: value)
    }

    /// A `string` field (UTF-8).
    public mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// A nested message written by `body` into its own writer, then framed by its length.
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.encoded)
    }
}
