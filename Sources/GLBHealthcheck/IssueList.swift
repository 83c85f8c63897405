import GLBCore

/// Collects `ConfigIssue`s for one file, located by table and field, as GLBCore's
/// forwarding-table decoder does, so that every message names the file and the key.
struct IssueList {
    let file: String
    var tableIndex: Int?
    var tableName: String?
    private(set) var issues: [ConfigIssue] = []

    init(file: String) { self.file = file }

    var hasErrors: Bool { issues.contains { $0.severity == .error } }

    mutating func error(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.error, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    mutating func warning(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.warning, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    mutating func append(contentsOf other: [ConfigIssue]) {
        issues.append(contentsOf: other)
    }

    mutating func warnUnknownKeys(_ object: JSONObject, known: [String], at path: String?) {
        for key in object.keys where !known.contains(key) {
            let field = path.map { "\($0).\(key)" } ?? key
            warning(field, "unknown key, ignored (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    /// A value as it appears in the file, for "got …" in messages.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .bool(let b): return String(b)
        default: return value.kindName
        }
    }
}
