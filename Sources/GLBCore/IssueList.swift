/// Collects `ConfigIssue`s for one file, located by table and field, so that every message of
/// every configuration reader names the file and the key the same way.
public struct IssueList {
    public let file: String
    public var tableIndex: Int?
    public var tableName: String?
    public private(set) var issues: [ConfigIssue] = []

    public init(file: String) { self.file = file }

    public var hasErrors: Bool { issues.contains { $0.severity == .error } }

    public mutating func error(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.error, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    public mutating func warning(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.warning, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    public mutating func append(contentsOf other: [ConfigIssue]) {
        issues.append(contentsOf: other)
    }

    /// A warning for each key of `object` not in `known` (listed in the order given).
    public mutating func warnUnknownKeys(_ object: JSONObject, known: [String], at path: String?) {
        for key in object.keys where !known.contains(key) {
            let field = path.map { "\($0).\(key)" } ?? key
            warning(field, "unknown key, ignored (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    /// A value as it appears in the file, for "got …" in messages.
    public static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .bool(let b): return String(b)
        default: return value.kindName
        }
    }
}
