/// SwiftGLB's version: what every binary's `--version` prints and the daemons' `build_info`
/// metrics carry. One constant for all of them, kept equal to the top entry of CHANGELOG.md
/// (a test compares the two).
public enum SwiftGLBVersion {
    public static let current = "0.2.1"

    /// `--version`'s line: the program's name and the version, e.g. `glb-director 0.2.0`.
    public static func line(_ program: String) -> String { "\(program) \(current)" }
}

extension PrometheusText {
    /// The `<prefix>_build_info` gauge (always 1; the build is in its labels, so that a
    /// dashboard can show which version runs where): `version` first, then `labels`.
    public mutating func buildInfo(prefix: String, labels: [(String, String)] = []) {
        let name = "\(prefix)_build_info"
        family(name, .gauge, "The running build: its version in the labels, value 1.")
        sample(name, [("version", SwiftGLBVersion.current)] + labels, integer: 1)
    }
}
