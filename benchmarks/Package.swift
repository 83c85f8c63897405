// swift-tools-version: 6.0
// Speed and allocation checks of SwiftGLB, kept out of the product's package: a build of the
// product builds none of this (the allocation counter replaces malloc for its whole process).
// Each tool has a `run` script beside it; `benchmarks/README.md` has the figures.
import PackageDescription

let package = Package(
    name: "SwiftGLBBenchmarks",
    dependencies: [
        .package(name: "SwiftGLB", path: ".."),
    ],
    targets: [
        // Frames, tables and buffers for the packet-path tools below.
        .target(
            name: "GLBPacketWorkload",
            dependencies: [
                .product(name: "GLBCore", package: "SwiftGLB"),
                .product(name: "GLBPacket", package: "SwiftGLB"),
            ],
            path: "GLBPacketWorkload"
        ),
        // Counts the process's heap allocations (replaces malloc and friends).
        .target(name: "CAllocationCounter", path: "CAllocationCounter"),
        // Reads the time-stamp counter (rdtsc) for the packet-path benchmark.
        .target(name: "CCycleCounter", path: "CCycleCounter"),
        // Evicts memory from the caches (clflush), for the packet-path benchmark's cold scenarios.
        .target(name: "CCacheEvict", path: "CCacheEvict"),
        .executableTarget(
            name: "glb-packet-alloc-check",
            dependencies: [
                .product(name: "GLBCore", package: "SwiftGLB"),
                .product(name: "GLBPacket", package: "SwiftGLB"),
                "GLBPacketWorkload", "CAllocationCounter",
            ],
            path: "alloc-check"
        ),
        .executableTarget(
            name: "packet-path-benchmark",
            dependencies: [
                .product(name: "GLBCore", package: "SwiftGLB"),
                .product(name: "GLBPacket", package: "SwiftGLB"),
                "GLBPacketWorkload", "CCycleCounter", "CCacheEvict",
            ],
            path: "packet-path",
            exclude: ["run"],
            // The packet path is inlined into this loop: compile it as glb-director compiles its own.
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "table-compile-benchmark",
            dependencies: [.product(name: "GLBCore", package: "SwiftGLB")],
            path: "table-compile",
            exclude: ["run"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
