import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed.",
        discussion: """
            Examples:
              rnn bench                      every standard case: training and batch-1 generation
              rnn bench --case lstm-128x2-b50-t50 --json
              rnn bench --case lstm-512x2-b50-t100 --precision int8
              rnn bench gemm                 square SGEMM at 512, all cores
              rnn bench gemm --size 1024 --threads 2 --json
              rnn bench train --case lstm-512x2-b50-t100
              rnn bench jsonl --data train.jsonl   read speed of a JSONL dataset
            """,
        subcommands: [CasesBench.self, GEMMBench.self, TrainBench.self, JSONLBench.self, DeepBenchBench.self],
        defaultSubcommand: CasesBench.self)
}
