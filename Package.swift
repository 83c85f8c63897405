// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SwiftGLB",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "GLBCore", targets: ["GLBCore"]),
        .library(name: "GLBPacket", targets: ["GLBPacket"]),
        .executable(name: "glb-director-cli", targets: ["glb-director-cli"]),
        .executable(name: "glb-redirect", targets: ["glb-redirect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "GLBCore"),
        .target(
            name: "GLBPacket",
            dependencies: ["GLBCore"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .executableTarget(
            name: "glb-director-cli",
            dependencies: [
                "GLBCore",
                "GLBPacket",
                "CPcap",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libbpf 1.x from the system (Debian's libbpf-dev).
        .systemLibrary(name: "CLibBPF", path: "Sources/CLibBPF"),
        // Compiles Sources/glb-redirect/bpf with scripts/build-bpf and embeds the object.
        .plugin(name: "EmbedBPFObject", capability: .buildTool()),
        .executableTarget(
            name: "glb-redirect",
            dependencies: [
                "CLibBPF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["bpf"],
            plugins: ["EmbedBPFObject"]
        ),
        .executableTarget(
            name: "table-compile-benchmark",
            dependencies: ["GLBCore"],
            path: "benchmarks/table-compile",
            exclude: ["run"]
        ),
        // Frames, tables and buffers for the packet-path tools below.
        .target(name: "GLBPacketWorkload", dependencies: ["GLBCore"]),
        // Counts the process's heap allocations (replaces malloc and friends).
        .target(name: "CAllocationCounter"),
        .executableTarget(
            name: "glb-packet-alloc-check",
            dependencies: ["GLBCore", "GLBPacket", "GLBPacketWorkload", "CAllocationCounter"]
        ),
        // Reads the time-stamp counter (rdtsc) for the packet-path benchmark.
        .target(name: "CCycleCounter"),
        .executableTarget(
            name: "packet-path-benchmark",
            dependencies: ["GLBCore", "GLBPacket", "GLBPacketWorkload", "CCycleCounter"],
            path: "benchmarks/packet-path",
            exclude: ["run"],
            // The packet path is inlined into the caller's loop: compile it as GLBPacket is.
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "GLBCoreTests",
            dependencies: ["GLBCore"]
        ),
        .testTarget(
            name: "GLBPacketTests",
            dependencies: ["GLBCore", "GLBPacket"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
