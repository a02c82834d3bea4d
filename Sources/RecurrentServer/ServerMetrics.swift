#if Server
import Foundation
import Recurrent
import RecurrentApps

/// The server's counters and histograms, written as Prometheus text (exposition format 0.0.4)
/// for `GET /metrics`: requests, generated tokens, batch sizes and latencies.
final class ServerMetrics: @unchecked Sendable {
    /// A cumulative histogram: counts of observations ≤ each bound, their sum and count.
    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum = 0.0
        var count = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        mutating func observe(_ x: Double) {
            for i in bounds.indices where x <= bounds[i] { counts[i] += 1 }
            sum += x
            count += 1
        }
    }

    static let secondsBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    static let rowBounds: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]

    private let lock = NSLock()
    private var requests: [String: Int] = [:]                // labels → count
    private var durations: [String: Histogram] = [:]         // endpoint labels → seconds
    private var tokens: [String: Int] = [:]                  // model labels → count
    private var rows: [String: Histogram] = [:]              // model labels → rows per step
    private var steps: [String: Histogram] = [:]             // model labels → seconds per step
    private var tokenGaps = Histogram(bounds: secondsBounds) // seconds between a stream's tokens

    private static func labels(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\($0.0)=\(JSONText.string($0.1))" }.joined(separator: ",") + "}"
    }

    /// A request answered with `status` after `seconds`.
    func request(endpoint: String, status: Int, seconds: Double) {
        let key = Self.labels([("endpoint", endpoint), ("status", "\(status)")])
        let endpointKey = Self.labels([("endpoint", endpoint)])
        lock.withLock {
            requests[key, default: 0] += 1
            durations[endpointKey, default: Histogram(bounds: Self.secondsBounds)].observe(seconds)
        }
    }

    /// One batched step of `model`'s engine.
    func step(model: String, _ report: GenerationStepReport) {
        let key = Self.labels([("model", model)])
        lock.withLock {
            tokens[key, default: 0] += report.tokens
            rows[key, default: Histogram(bounds: Self.rowBounds)].observe(Double(report.rows))
            steps[key, default: Histogram(bounds: Self.secondsBounds)].observe(report.seconds)
        }
    }

    /// The time a stream's client waited for its next `count` tokens, which came together (the
    /// first: from the request): the first waited `seconds`, the others nothing more.
    func tokenGap(_ seconds: Double, count: Int) {
        lock.withLock {
            tokenGaps.observe(seconds)
            for _ in 1..<max(count, 1) { tokenGaps.observe(0) }
        }
    }

    /// Everything in Prometheus text, with `gauges` (name, help, labelled values) read now.
    func text(gauges: [(name: String, help: String, values: [(labels: [(String, String)], value: Double)])]) -> String {
        lock.withLock {
            var out = ""
            func counter(_ name: String, _ help: String, _ values: [String: Int]) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
                for key in values.keys.sorted() { out += "\(name)\(key) \(values[key]!)\n" }
            }
            func histogram(_ name: String, _ help: String, _ values: [String: Histogram]) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
                for key in values.keys.sorted() {
                    let h = values[key]!
                    let inner = key.dropFirst().dropLast()
                    let prefix = inner.isEmpty ? "{" : "{\(inner),"
                    for (bound, count) in zip(h.bounds, h.counts) { out += "\(name)_bucket\(prefix)le=\"\(bound)\"} \(count)\n" }
                    out += "\(name)_bucket\(prefix)le=\"+Inf\"} \(h.count)\n\(name)_sum\(key) \(h.sum)\n\(name)_count\(key) \(h.count)\n"
                }
            }
            counter("rnn_http_requests_total", "HTTP requests answered, by endpoint and status.", requests)
            histogram("rnn_http_request_duration_seconds", "Time to answer a request (a stream: to its headers; rnn_time_per_token_seconds times its tokens).", durations)
            counter("rnn_generated_tokens_total", "Characters generated, by model.", tokens)
            histogram("rnn_batch_rows", "Rows (streams) in each batched generation step, by model.", rows)
            histogram("rnn_step_duration_seconds", "Time of each batched generation step, by model.", steps)
            histogram("rnn_time_per_token_seconds", "Time a streaming client waited for each token.", ["": tokenGaps])
            for gauge in gauges {
                out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
                for (labels, value) in gauge.values { out += "\(gauge.name)\(Self.labels(labels)) \(value)\n" }
            }
            return out
        }
    }
}
#endif
