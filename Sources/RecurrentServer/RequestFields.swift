#if Server
import Foundation
import Hummingbird

/// A request's JSON object, read field by field: each accessor checks the field's type and
/// range and throws a 400 or 422 `APIError` naming it; fields the endpoint does not know are refused.
struct RequestFields {
    private let object: [String: Any]

    /// Parses `body`.
    /// - Parameter known: the fields the endpoint reads; any other is a 400.
    init(_ body: ByteBuffer, known: Set<String>) throws {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(buffer: body), options: [.fragmentsAllowed]) else {
            throw APIError(.badRequest, "the body is not JSON: expected a JSON object such as {\"length\": 100}")
        }
        guard let object = parsed as? [String: Any] else {
            throw APIError(.badRequest, "the body is JSON but not an object: expected {\"field\": value, …}")
        }
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw APIError(.badRequest, field: unknown,
                           "unknown field '\(unknown)': expected one of \(known.sorted().joined(separator: ", "))")
        }
        self.object = object
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    private func number(_ key: String) throws -> NSNumber? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !Self.isBool(n) else {
            throw APIError(.badRequest, field: key, "'\(key)' must be a number")
        }
        return n
    }

    /// A string field, or nil when absent.
    func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = object[key] as? String else { throw APIError(.badRequest, field: key, "'\(key)' must be a string") }
        return s
    }

    /// A whole-number field in `range`, or nil when absent.
    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let n = try number(key) else { return nil }
        guard let (negative, magnitude) = Self.whole(n) else {
            throw APIError(.badRequest, field: key, "'\(key)' must be a whole number, found \(n)")
        }
        guard magnitude <= UInt64(Int.max), case let v = negative ? -Int(magnitude) : Int(magnitude), range.contains(v) else {
            throw APIError(.unprocessableContent, field: key,
                           "invalid \(key) '\(n)': expected " + (range.upperBound == Int.max ? "at least \(range.lowerBound)"
                                                                       : "\(range.lowerBound)...\(range.upperBound)"))
        }
        return v
    }

    /// A float field, or nil when absent.
    func float(_ key: String) throws -> Float? {
        try number(key).map { Float($0.doubleValue) }
    }

    /// A seed: a whole number 0...2⁶⁴−1, as a JSON number or a decimal string.
    func seed(_ key: String) throws -> UInt64? {
        guard has(key) else { return nil }
        if let s = object[key] as? String {
            guard let v = UInt64(s) else {
                throw APIError(.unprocessableContent, field: key, "invalid \(key) '\(s)': expected a whole number from 0 to \(UInt64.max)")
            }
            return v
        }
        guard let n = try number(key) else { return nil }
        guard let (negative, magnitude) = Self.whole(n), !negative || magnitude == 0 else {
            throw APIError(.unprocessableContent, field: key, "invalid \(key) '\(n)': expected a whole number from 0 to \(UInt64.max)")
        }
        return magnitude
    }

    /// A boolean field, or nil when absent.
    func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, Self.isBool(n) else {
            throw APIError(.badRequest, field: key, "'\(key)' must be true or false")
        }
        return n.boolValue
    }

    /// A field that must be a JSON array, or nil when absent.
    func array(_ key: String) throws -> [Any]? {
        guard has(key) else { return nil }
        guard let a = object[key] as? [Any] else { throw APIError(.badRequest, field: key, "'\(key)' must be an array") }
        return a
    }

    private static func isBool(_ n: NSNumber) -> Bool { String(describing: type(of: n)).contains("Boolean") }

    /// The number as an exact whole number, nil when it is a fraction or out of range.
    private static func whole(_ n: NSNumber) -> (negative: Bool, magnitude: UInt64)? {
        let type = String(cString: n.objCType)
        if type == "Q" { return (false, n.uint64Value) }
        if type != "d" && type != "f" {
            let v = n.int64Value
            return (v < 0, v.magnitude)
        }
        let d = n.doubleValue
        guard d.isFinite && d == d.rounded() else { return nil }
        // A whole number past 2⁶⁴ is out of every range: the largest magnitude says so.
        return (d < 0, d.magnitude < 18_446_744_073_709_551_616 ? UInt64(d.magnitude) : .max)
    }
}
#endif
