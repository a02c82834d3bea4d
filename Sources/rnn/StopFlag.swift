import ArgumentParser
import Foundation
import Recurrent
import RecurrentApps

/// Set by the first SIGINT (Ctrl-C) or SIGTERM: training stops after the step it is in, writes
/// its last checkpoint and exits 128 + the signal's number. A second signal ends the process at once.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var signalNumber: Int32?
    private var sources: [DispatchSourceSignal] = []

    var isSet: Bool { lock.withLock { signalNumber != nil } }
    /// 130 after SIGINT, 143 after SIGTERM.
    var exitStatus: Int32 { 128 + (lock.withLock { signalNumber } ?? SIGINT) }

    static func install() -> StopFlag {
        let flag = StopFlag()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let already = flag.lock.withLock { () -> Bool in
                    defer { if flag.signalNumber == nil { flag.signalNumber = number } }
                    return flag.signalNumber != nil
                }
                if already { Foundation.exit(128 + number) }
                let name = number == SIGINT ? "Ctrl-C" : "SIGTERM"
                FileHandle.standardError.write(Data("\nstopping after this step (\(name) again to quit at once)\n".utf8))
            }
            source.resume()
            flag.sources.append(source)
        }
        return flag
    }
}
