/// Prometheus' text exposition format (version 0.0.4), built up family by family: a `# HELP`
/// and `# TYPE` line, then the family's samples. Label values and help texts are escaped as
/// the format requires, so any string (a table name, an interface name) can be a label value.
///
/// One writer for every component's metrics: the health checker's `/metrics` and
/// `glb-redirect stats --format prometheus` (node_exporter's textfile collector) use it.
public struct PrometheusText: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum Kind: String, Sendable {
        case gauge, counter
    }

    public private(set) var text = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        append(name, labels, Self.format(value))
    }

    /// Counters read as integers keep every digit (a Double holds integers exactly only up
    /// to 2^53).
    public mutating func sample(_ name: String, _ labels: [(String, String)], integer value: UInt64) {
        append(name, labels, String(value))
    }

    /// A family with one unlabelled sample.
    public mutating func single(_ name: String, _ kind: Kind, _ help: String, _ value: Double) {
        family(name, kind, help)
        sample(name, [], value)
    }

    private mutating func append(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    /// Integers without a fraction, the special values as Prometheus spells them.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A label value: backslash, double quote and line feed escaped. Scalar by scalar, so a
    /// line feed inside a "\r\n" pair is escaped too.
    public static func escapeLabel(_ s: String) -> String {
        escape(s, quote: true)
    }

    /// A help text: backslash and line feed escaped (a double quote stays as it is).
    public static func escapeHelp(_ s: String) -> String {
        escape(s, quote: false)
    }

    private static func escape(_ s: String, quote: Bool) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out.append(contentsOf: #"\\"#.unicodeScalars)
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\"" where quote: out.append(contentsOf: #"\""#.unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
