// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Recurrent",
    products: [
        // The core: tensors, kernels, cells, layers, models, training, data, checkpoints.
        .library(name: "Recurrent", targets: ["Recurrent"]),
        // The applications on the core: the roommate, the long-range comparison, the character
        // model, the sequence tasks, inspection, ONNX export and the benchmark harness.
        .library(name: "RecurrentApps", targets: ["RecurrentApps"]),
        .executable(name: "rnn", targets: ["rnn"]),
    ],
    // Optional parts, each off by default, so a plain build compiles none of them:
    // `Server`: `rnn serve`, the HTTP inference server on Hummingbird (`swift build -c release
    // --traits Server`): no NIO or Hummingbird without it.
    // `MPI`: `rnn train` and `rnn fit` train data-parallel under mpirun (`swift build --traits MPI`;
    // Open MPI, Debian's libopenmpi-dev): nothing of MPI is compiled or linked without it.
    traits: [
        .trait(name: "Server", description: "rnn serve: the HTTP inference server (Hummingbird 2, SwiftNIO)."),
        .trait(name: "MPI", description: "Data-parallel training over MPI (Open MPI's ompi-c pkg-config module)"),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (the DocC catalog in Sources/Recurrent); a plugin
        // only: nothing of it is compiled into the libraries or the tool.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Only under the `Server` trait: without it no target depends on them and nothing of them is built.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Hot loops in C: GEMM micro-kernels, CPU-feature dispatch chosen once at start-up.
        .target(name: "CRecurrentKernels"),
        .target(name: "Recurrent", dependencies: ["CRecurrentKernels"]),
        // Imports the core; the core imports nothing of it (the compiler keeps that wall).
        .target(name: "RecurrentApps", dependencies: ["Recurrent", "CRecurrentKernels"]),
        // The HTTP layer of `rnn serve` (routes, JSON, Server-Sent Events, metrics, shutdown) over
        // the batching engine in RecurrentApps. Its sources are all under `#if Server`: without the
        // trait it is an empty module and Hummingbird is not a dependency.
        .target(
            name: "RecurrentServer",
            dependencies: [
                "Recurrent",
                "RecurrentApps",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Server"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Server"])),
            ]),
        .executableTarget(
            name: "rnn",
            dependencies: [
                "Recurrent",
                "RecurrentApps",
                .target(name: "RecurrentServer", condition: .when(traits: ["Server"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // --- MPI (issue 21) ---
                .target(name: "RecurrentMPI", condition: .when(traits: ["MPI"])),
                // --- end MPI ---
            ]),
        // --- MPI (issue 21) ---
        // Open MPI's C API (a system library: headers and -lmpi from pkg-config), and the core's
        // `Communicator` over it. Only the MPI trait makes anything depend on them.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "RecurrentMPI",
                dependencies: ["Recurrent", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        // --- end MPI ---
        .testTarget(
            name: "RecurrentTests",
            dependencies: ["Recurrent", "RecurrentApps", "CRecurrentKernels"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["rnn", "Recurrent", "RecurrentApps"]),
        // `rnn serve` end to end on loopback; its sources are under `#if Server` (empty without the trait).
        .testTarget(name: "ServerTests", dependencies: ["rnn", "Recurrent", "RecurrentApps"]),
    ],
    swiftLanguageModes: [.v6]
)
