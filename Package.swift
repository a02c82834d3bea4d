// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Recurrent",
    products: [
        .library(name: "Recurrent", targets: ["Recurrent"]),
        .executable(name: "rnn", targets: ["rnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Hot loops in C: GEMM micro-kernels, CPU-feature dispatch chosen once at start-up.
        .target(name: "CRecurrentKernels"),
        .target(name: "Recurrent", dependencies: ["CRecurrentKernels"]),
        .executableTarget(
            name: "rnn",
            dependencies: [
                "Recurrent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "RecurrentTests",
            dependencies: ["Recurrent", "CRecurrentKernels"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["rnn", "Recurrent"]),
    ],
    swiftLanguageModes: [.v6]
)
