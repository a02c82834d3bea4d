// libFuzzer target: bytes → the JSONL line parser (JSONLDataset(bytes:path:...), both error
// modes) and, for what parses, the task specification and encoding of every task kind.
// Compiled into the module `Recurrent` with the library's sources by Fuzz/run.sh.
// Any Swift trap, signal or sanitizer report is a bug: bad data must only throw a RecurrentError.
import Foundation

func expectRecurrentError(_ body: () throws -> Void) {
    do { try body() } catch is RecurrentError {} catch {
        fatalError("malformed data gave a non-RecurrentError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONL(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Any bytes: the reader checks UTF-8 and NUL bytes itself, line by line.
    let data = Array(UnsafeBufferPointer(start: bytes, count: size))
    expectRecurrentError { _ = try JSONLDataset(bytes: data, path: "fuzz.jsonl", requireTarget: false, onError: .stop) }
    var dataset: JSONLDataset?
    expectRecurrentError { dataset = try JSONLDataset(bytes: data, path: "fuzz.jsonl", requireTarget: true, onError: .skip) }
    guard let dataset else { return 0 }
    for kind in SequenceTaskKind.allCases {
        for tokenization in Tokenization.allCases {
            expectRecurrentError {
                var spec = try TaskSpecification.build(kind: kind, examples: dataset.examples, path: "fuzz.jsonl",
                                                       tokenization: tokenization)
                spec.hiddenSize = 2
                spec.embeddingSize = 2
                // The spec must survive its own checkpoint round trip.
                guard var reparsed = try? TaskSpecification(json: spec.json, path: "fuzz") else {
                    fatalError("a spec built from data cannot be read back from its checkpoint: \(spec.json)")
                }
                // Foundation's JSONSerialization on Linux may parse a Double 1 ulp off: compare the
                // regression statistics with a tolerance, everything else exactly.
                func close(_ a: [Double], _ b: [Double]) -> Bool {
                    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($0)) }
                }
                precondition(close(reparsed.targetMean, spec.targetMean) && close(reparsed.targetStd, spec.targetStd),
                             "regression statistics changed in the round trip: \(spec.json)")
                (reparsed.targetMean, reparsed.targetStd) = (spec.targetMean, spec.targetStd)
                precondition(reparsed == spec, "the spec changed in its checkpoint round trip: \(spec.json)")
                let encoded = try dataset.examples.prefix(8).map { try spec.encode($0, path: "fuzz.jsonl", withTarget: true) }
                let network = try makeTaskNetwork(spec, dropout: 0, seed: 1)
                var rng = SeededGenerator(seed: 1)
                try network.forward(encoded[...], training: true, rng: &rng)
                _ = network.loss(encoded[...])
                _ = try network.predict(encoded[...], beam: 1)
            }
        }
    }
    return 0
}
