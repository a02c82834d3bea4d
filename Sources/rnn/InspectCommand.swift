import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors, shapes, dtypes and config, and say what it can be used for.",
        discussion: """
            Examples:
              rnn inspect runs/shakespeare/best.safetensors
              rnn inspect model.safetensors --json
            """)

    @Argument(help: "A .safetensors file.")
    var file: String

    @Flag(help: "Print JSON: {\"path\", \"bytes\", \"tensors\": [{\"name\", \"dtype\", \"shape\"}], \"metadata\", \"uses\"}.")
    var json = false

    func run() throws {
        let report = try CheckpointInspection(path: file)
        if json {
            print(JSON.object([
                ("path", JSON.string(report.path)), ("bytes", "\(report.bytes)"),
                ("tensors", JSON.array(report.tensors.map { t in
                    JSON.object([("name", JSON.string(t.name)), ("dtype", JSON.string(t.dtype)),
                                 ("shape", JSON.array(t.shape.map(String.init)))])
                })),
                ("metadata", JSON.object(report.metadata.map { ($0.key, JSON.string($0.value)) })),
                ("uses", JSON.array(report.uses.map(JSON.string))),
            ]))
            return
        }
        print("\(report.path): \(report.bytes) bytes, \(report.tensors.count) tensors")
        let width = report.tensors.map(\.name.count).max() ?? 0
        for t in report.tensors {
            print("  " + t.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(t.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(t.shape)")
        }
        for (key, value) in report.metadata {
            let shown = value.count > 300 ? String(value.prefix(300)) + "…" : value
            print("metadata \(key): \(shown)")
        }
        for use in report.uses { print("use: \(use)") }
    }
}
