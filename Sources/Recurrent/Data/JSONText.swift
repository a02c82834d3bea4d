import Foundation

/// Writing JSON text with keys in the order given, so the same values always give the same
/// bytes (checkpoint metadata, JSONL output, the CLI's --json).
public enum JSONText {
    /// A JSON string literal.
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A number; null when it is not finite (JSON has no NaN or infinity).
    public static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
    /// `[a, b, …]` from items already in JSON.
    public static func array(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
    /// `{"k": v, …}` with keys in the order given, values already in JSON.
    public static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
