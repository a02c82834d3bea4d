import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
/// JSON `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"key": "value"}}`, then the tensors' bytes, little-endian, row-major.
/// Offsets are relative to the end of the header. Unlike pickle, loading executes nothing.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
}

/// A parsed safetensors file. Every tensor's bytes are checked to lie inside the file, to match
/// its dtype and shape, and not to overlap another's.
public struct SafetensorsFile: Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// Byte range in `data`.
        public let range: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// The largest header accepted (the reference implementation's limit).
    public static let maximumHeaderBytes = 100_000_000

    public let path: String
    public let metadata: [String: String]
    /// Tensors in file order.
    public let tensors: [TensorInfo]
    /// The bytes after the header.
    let data: Data

    /// The tensor called `name`, if the file holds one.
    public subscript(name: String) -> TensorInfo? { tensors.first { $0.name == name } }

    /// Reads and validates `path`.
    /// - Throws: `RecurrentError.io` when the file cannot be read, `RecurrentError.invalidFile`
    ///   naming what is wrong with it.
    public init(contentsOf path: String) throws {
        try self.init(bytes: readFile(path, expected: "a .safetensors file"), path: path)
    }

    /// Parses safetensors bytes; `path` only names the file in errors.
    public init(bytes: Data, path: String = "<memory>") throws {
        func bad(_ reason: String) -> RecurrentError {
            .invalidFile(path: path, reason: "not a valid safetensors file: \(reason)")
        }
        self.path = path
        guard bytes.count >= 8 else { throw bad("\(bytes.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[bytes.startIndex + i]) << (8 * UInt64(i)) }
        // A safetensors header opens with '{' at byte 8. A file without one is told apart by its
        // first bytes, and when its header length does not fit either, it is another kind of file.
        if bytes.count == 8 || bytes[bytes.startIndex + 8] != UInt8(ascii: "{") {
            if let other = Self.otherFormat(bytes) { throw RecurrentError.invalidFile(path: path, reason: other) }
            if n > UInt64(bytes.count - 8) {
                throw RecurrentError.invalidFile(path: path, reason: "not a safetensors file "
                                                 + "(it does not start with an 8-byte header length and a JSON header)")
            }
        }
        guard n <= UInt64(Self.maximumHeaderBytes) else { throw bad("header length \(n) is larger than \(Self.maximumHeaderBytes)") }
        guard n <= UInt64(bytes.count - 8) else { throw bad("header length \(n) runs past the end of the \(bytes.count)-byte file") }
        let headerBytes = bytes.subdata(in: (bytes.startIndex + 8)..<(bytes.startIndex + 8 + Int(n)))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes),
              let header = object as? [String: Any] else {
            throw bad("the header is not a JSON object")
        }
        data = bytes.subdata(in: (bytes.startIndex + 8 + Int(n))..<bytes.endIndex)
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("metadata value of '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("entry '\(name)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw bad("tensor '\(name)' has no dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw bad("tensor '\(name)' has unknown dtype '\(dtypeName)'")
            }
            guard let shapeValues = info["shape"] as? [Any] else { throw bad("tensor '\(name)' has no shape") }
            var shape: [Int] = []
            for v in shapeValues {
                guard let d = (v as? NSNumber)?.int64Value, d >= 0, d <= Int64(Int32.max),
                      (v as? NSNumber).map({ Double(truncating: $0) == Double(d) }) ?? false else {
                    throw bad("tensor '\(name)' has an invalid shape \(shapeValues)")
                }
                shape.append(Int(d))
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber)?.int64Value, let end = (offsets[1] as? NSNumber)?.int64Value,
                  begin >= 0, end >= begin else {
                throw bad("tensor '\(name)' has invalid data_offsets")
            }
            guard end <= Int64(data.count) else {
                throw bad("tensor '\(name)' ends at byte \(end), past the \(data.count) data bytes")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw bad("tensor '\(name)' shape \(shape) is too large") }
                elements = product
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, Int64(expected) == end - begin else {
                throw bad("tensor '\(name)' of shape \(shape) and dtype \(dtype.rawValue) needs \(expected) bytes, "
                          + "its offsets hold \(end - begin)")
            }
            tensors.append(TensorInfo(name: name, dtype: dtype, shape: shape, range: Int(begin)..<Int(end)))
        }
        tensors.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where a.range.upperBound > b.range.lowerBound && !b.range.isEmpty {
            throw bad("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// What a file that is not safetensors is, told by its first bytes, and what to do: a zip
    /// archive is a PyTorch `.pt` file; a protobuf whose first field is a small varint 1
    /// (`ir_version`) is an ONNX model. Nil for anything else.
    static func otherFormat(_ bytes: Data) -> String? {
        let head = Array(bytes.prefix(4))
        if head == [0x50, 0x4B, 0x03, 0x04] {
            return "a PyTorch .pt file: save it with safetensors.torch.save_file (see the README)"
        }
        // Field 1, wire type 0 (tag byte 0x08), then a one-byte varint from 1 to 127.
        if head.count >= 2, head[0] == 0x08, (1...0x7F).contains(head[1]) {
            return "an ONNX model: rnn reads safetensors checkpoints"
        }
        return nil
    }

    /// A tensor's values as Float32, converted from F64, F16 or BF16.
    /// - Throws: `RecurrentError.invalidFile` for a missing tensor or a non-floating dtype.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = self[name] else {
            throw RecurrentError.invalidFile(path: path, reason: "missing tensor '\(name)'")
        }
        guard t.dtype.isFloatingPoint else {
            throw RecurrentError.invalidFile(path: path, reason: "tensor '\(name)' has dtype \(t.dtype.rawValue), expected F32, F16, BF16 or F64")
        }
        let bytes = data.subdata(in: (data.startIndex + t.range.lowerBound)..<(data.startIndex + t.range.upperBound))
        return bytes.withUnsafeBytes { raw -> [Float] in
            (0..<t.count).map { i in
                switch t.dtype {
                case .f32: return Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case .f64: return Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                case .f16: return halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                case .bf16: return Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                default: return 0
                }
            }
        }
    }

    /// A U64/I64 tensor's values (training state such as random-generator words).
    public func integers(_ name: String) throws -> [UInt64] {
        guard let t = self[name], t.dtype == .u64 || t.dtype == .i64 else {
            throw RecurrentError.invalidFile(path: path, reason: "missing U64 tensor '\(name)'")
        }
        return data.withUnsafeBytes { raw in
            (0..<t.count).map { raw.loadUnaligned(fromByteOffset: t.range.lowerBound + 8 * $0, as: UInt64.self).littleEndian }
        }
    }

    // MARK: Writing

    /// A tensor to write: F32 values, or U64 words.
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let floats: [Float]?
        public let words: [UInt64]?
        /// An F32 tensor.
        public init(_ name: String, shape: [Int], floats: [Float]) {
            self.name = name
            self.shape = shape
            self.floats = floats
            self.words = nil
        }
        /// A U64 tensor (random state, batch orders).
        public init(_ name: String, shape: [Int], words: [UInt64]) {
            self.name = name
            self.shape = shape
            self.floats = nil
            self.words = words
        }
    }

    /// The bytes of a safetensors file: tensors in the given order, header keys sorted, header
    /// padded with spaces to a multiple of 8 bytes. The same input always gives the same bytes.
    public static func encode(_ entries: [Entry], metadata: [String: String]) -> Data {
        var header: [(String, String)] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            header.append(("__metadata__", "{\(m)}"))
        }
        var offset = 0
        for e in entries {
            let bytes = e.floats != nil ? 4 * e.floats!.count : 8 * e.words!.count
            let dtype = e.floats != nil ? "F32" : "U64"
            header.append((e.name, "{\"dtype\":\"\(dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],"
                                   + "\"data_offsets\":[\(offset),\(offset + bytes)]}"))
            offset += bytes
        }
        header.sort { $0.0 < $1.0 }
        var json = Array(("{" + header.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for e in entries {
            if let f = e.floats {
                f.withUnsafeBufferPointer { buffer in
                    if Int(1).littleEndian == 1 {
                        out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                       count: 4 * buffer.count))
                    } else {
                        for v in buffer { var b = v.bitPattern.littleEndian; withUnsafeBytes(of: &b) { out.append(contentsOf: $0) } }
                    }
                }
            } else if let w = e.words {
                for v in w { var b = v.littleEndian; withUnsafeBytes(of: &b) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }

    package static func jsonString(_ s: String) -> String { JSONText.string(s) }
}

/// IEEE binary16 → binary32, exactly (subnormals, infinities and NaNs included).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // ±0 or subnormal: mantissa · 2⁻²⁴.
        let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
}
