/// SwiftGLB's version: what every binary's `--version` prints and the daemons' `build_info`
/// metrics carry. One constant for all of them, kept equal to the top entry of CHANGELOG.md
/// (a test compares the two).
public enum SwiftGLBVersion {
    public static let current = "0.1.0"

    /// `--version`'s line: the program's name and the version, e.g. `glb-director 0.1.0`.
    public static func line(_ program: String) -> String { "\(program) \(current)" }

    /// The `<prefix>_build_info` gauge in Prometheus' text format (always 1; the build is in its
    /// labels, so that a dashboard can show which version runs where): `version` first, then
    /// `labels`.
    public static func buildInfoMetric(prefix: String, labels: [(String, String)] = []) -> String {
        let name = "\(prefix)_build_info"
        let all = [("version", current)] + labels
        let text = all.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",")
        return "# HELP \(name) The running build: its version in the labels, value 1.\n# TYPE \(name) gauge\n\(name){\(text)} 1\n"
    }

    /// A label value as Prometheus' text format wants it: backslash, double quote and newline
    /// escaped.
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
