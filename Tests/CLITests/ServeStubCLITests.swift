import XCTest

#if !Server
/// Without the `Server` trait `rnn serve` exists and says in one line how to build the server.
final class ServeStubCLITests: XCTestCase {
    func testServeWithoutTheTraitSaysHowToBuildIt() throws {
        for arguments in [["serve"], ["serve", "--checkpoint", "model.safetensors", "--port", "0"]] {
            expectOneLineError(try runRNN(arguments), ["rnn serve", "swift build -c release --traits Server"])
        }
    }
}
#endif
