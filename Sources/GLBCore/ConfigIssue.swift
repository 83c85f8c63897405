/// A problem found in a configuration file, located precisely enough to fix it without
/// searching: the file, the table (index and name) and the field.
public struct ConfigIssue: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public var severity: Severity
    public var file: String
    /// Index and name of the table, when the issue is inside one.
    public var tableIndex: Int?
    public var tableName: String?
    /// JSON path of the field inside the table (or the document), e.g. `backends[2].state`.
    public var field: String?
    /// What is wrong and what was expected.
    public var message: String

    public init(_ severity: Severity, file: String, tableIndex: Int? = nil, tableName: String? = nil, field: String? = nil, message: String) {
        self.severity = severity
        self.file = file
        self.tableIndex = tableIndex
        self.tableName = tableName
        self.field = field
        self.message = message
    }

    /// "file: table 0 (web): backends[2].state: expected …".
    public var description: String {
        var parts = [file]
        if let tableIndex { parts.append(TableConfig.label(index: tableIndex, name: tableName)) }
        if let field { parts.append(field) }
        return parts.joined(separator: ": ") + ": " + message
    }

    /// The description with "error: " or "warning: " in front, for plain-text reports.
    public var labeled: String { "\(severity.rawValue): \(description)" }
}

/// A configuration that could not be used, with every error found (and the warnings).
public struct ConfigErrors: Error, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(_ issues: [ConfigIssue]) {
        self.issues = issues
    }

    public var errors: [ConfigIssue] { issues.filter { $0.severity == .error } }
    public var warnings: [ConfigIssue] { issues.filter { $0.severity == .warning } }

    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
