// swift-tools-version:5.4
// The libFuzzer target of the packet path, kept out of the main package so that its normal
// builds never see the sanitizer flags. Build and run it with scripts/fuzz.
//
// The tools version stays at 5.4 on purpose: from 5.5 on, SwiftPM links an executable with
// `main` aliased to `<module>_main` (so tests can import executables), a symbol that does not
// exist when the module is compiled with -parse-as-library and libFuzzer provides `main`.
import PackageDescription

let package = Package(
    name: "SwiftGLBFuzz",
    dependencies: [
        .package(name: "SwiftGLB", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "glb-packet-fuzz",
            dependencies: [
                .product(name: "GLBCore", package: "SwiftGLB"),
                .product(name: "GLBPacket", package: "SwiftGLB"),
            ]
        ),
    ]
)
