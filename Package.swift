// swift-tools-version: 6.0
import PackageDescription

let dpdkCFlags = ["-I/usr/include/dpdk", "-I/usr/include/x86_64-linux-gnu/dpdk", "-march=corei7", "-Wno-deprecated-declarations"]
let dpdkLibraries = ["rte_eal", "rte_ethdev", "rte_mbuf", "rte_mempool", "rte_ring", "rte_rcu", "rte_net", "rte_bus_vdev", "rte_kvargs", "rte_telemetry"]

let package = Package(
    name: "SwiftGLB",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "GLBCore", targets: ["GLBCore"]),
        .library(name: "GLBPacket", targets: ["GLBPacket"]),
        .executable(name: "glb-director", targets: ["glb-director"]),
        .executable(name: "glb-director-cli", targets: ["glb-director-cli"]),
        .executable(name: "glb-redirect", targets: ["glb-redirect"]),
        .executable(name: "glb-healthcheck", targets: ["glb-healthcheck"]),
        .executable(name: "glb-announce", targets: ["glb-announce"]),
        .executable(name: "glb-balance", targets: ["glb-balance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
    ],
    targets: [
        // OpenSSL's libcrypto from the system: SHA-256 for the forwarding table's checksum file.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "GLBCore", dependencies: ["CCrypto"]),
        // Cache hints for the packet path's burst stages (one static inline function).
        .target(name: "CPrefetch"),
        // No unsafe flags here: another package cannot depend on a library that has them. The
        // packet path is @inlinable and compiled into its caller (glb-director, the benchmarks),
        // with the caller's -Ounchecked, so the flag here changed no instruction of it.
        .target(name: "GLBPacket", dependencies: ["GLBCore", "CPrefetch"]),
        // What the director sets up, as a plain value: the lcore layout from director.conf, each
        // lcore's role, queues, rings and counter blocks, and the mbuf pool. No DPDK.
        .target(name: "GLBDirectorPlan", dependencies: ["GLBCore"]),
        .target(
            name: "GLBLogging",
            dependencies: ["GLBCore", .product(name: "Logging", package: "swift-log")]
        ),
        // The one place DPDK meets Swift, kept at the top level of the tree (docs/design.md §2).
        // DPDK 22.11 from Debian: its pkg-config file does not suit SwiftPM, so the include
        // folders and libraries are named here (docs/design.md §11).
        .target(
            name: "CDPDKShim",
            path: "CDPDKShim",
            cSettings: [.unsafeFlags(dpdkCFlags)],
            linkerSettings: dpdkLibraries.map { .linkedLibrary($0) }
        ),
        // Process plumbing for the daemons: sd_notify(3), commands run with a time limit.
        .target(name: "GLBDaemon"),
        // The daemons' HTTP parts: a metrics/status endpoint and a bounded GET.
        .target(
            name: "GLBHTTP",
            dependencies: [
                "GLBCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "glb-director",
            dependencies: [
                "CDPDKShim", "GLBCore", "GLBDirectorPlan", "GLBPacket", "GLBLogging", "GLBHTTP", "GLBDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [
                .unsafeFlags(dpdkCFlags.flatMap { ["-Xcc", $0] }),
                .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
            ]
        ),
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .executableTarget(
            name: "glb-director-cli",
            dependencies: [
                "GLBCore",
                "GLBDirectorPlan",
                "GLBPacket",
                "GLBLogging",
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
                "GLBCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["bpf"],
            plugins: ["EmbedBPFObject"]
        ),
        // The announcer's decisions and the VIPs it takes from a table, tested without a network.
        .target(name: "GLBAnnounce", dependencies: ["GLBCore"]),
        // glb-announce: announces the VIPs through BIRD while the local director is ready.
        .executableTarget(
            name: "glb-announce",
            dependencies: [
                "GLBAnnounce", "GLBCore", "GLBHTTP", "GLBLogging", "GLBDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The load-aware control loop's logic: configuration, control law, Prometheus answers.
        .target(name: "GLBBalance", dependencies: ["GLBCore"]),
        // glb-balance: moves backend weights toward equal utilization, read from Prometheus.
        .executableTarget(
            name: "glb-balance",
            dependencies: [
                "GLBBalance", "GLBCore", "GLBHTTP", "GLBLogging", "GLBDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The health checker's logic: configuration, dampening, the destination table, the
        // status view and the round loop, unit-tested without a network.
        .target(
            name: "GLBHealthcheck",
            dependencies: ["GLBCore", "GLBLogging", .product(name: "Logging", package: "swift-log")]
        ),
        // glb-healthcheck: the network probes, the metrics endpoint and process plumbing.
        .executableTarget(
            name: "glb-healthcheck",
            dependencies: [
                "GLBCore",
                "GLBHealthcheck",
                "GLBHTTP",
                "GLBLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GLBCoreTests",
            dependencies: ["GLBCore"]
        ),
        .testTarget(
            name: "GLBDirectorPlanTests",
            dependencies: ["GLBCore", "GLBDirectorPlan"]
        ),
        .testTarget(
            name: "GLBPacketTests",
            dependencies: ["GLBCore", "GLBPacket"]
        ),
        .testTarget(
            name: "GLBHTTPTests",
            dependencies: [
                "GLBCore", "GLBHTTP",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GLBBalanceTests",
            dependencies: ["GLBCore", "GLBBalance"]
        ),
        .testTarget(
            name: "GLBAnnounceTests",
            dependencies: ["GLBCore", "GLBAnnounce", "GLBHTTP"]
        ),
        .testTarget(
            name: "GLBHealthcheckTests",
            dependencies: ["GLBCore", "GLBHealthcheck", "GLBLogging", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "GLBLoggingTests",
            dependencies: ["GLBCore", "GLBLogging", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
