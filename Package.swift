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
    // --- MPI (issue 21) ---
    // `swift build --traits MPI`: `rnn train` and `rnn fit` train data-parallel under mpirun (Open MPI,
    // Debian's libopenmpi-dev). Without the trait nothing of MPI is compiled or linked.
    traits: [
        .trait(name: "MPI", description: "Data-parallel training over MPI (Open MPI's ompi-c pkg-config module)"),
    ],
    // --- end MPI ---
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (the DocC catalog in Sources/Recurrent); a plugin
        // only: nothing of it is compiled into the libraries or the tool.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Hot loops in C: GEMM micro-kernels, CPU-feature dispatch chosen once at start-up.
        .target(name: "CRecurrentKernels"),
        .target(name: "Recurrent", dependencies: ["CRecurrentKernels"]),
        // Imports the core; the core imports nothing of it (the compiler keeps that wall).
        .target(name: "RecurrentApps", dependencies: ["Recurrent", "CRecurrentKernels"]),
        .executableTarget(
            name: "rnn",
            dependencies: [
                "Recurrent",
                "RecurrentApps",
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
    ],
    swiftLanguageModes: [.v6]
)
