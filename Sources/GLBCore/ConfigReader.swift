/// What every configuration reader reads with: it collects `ConfigIssue`s for one file,
/// located by table and field, and reads typed keys with the same messages in every file
/// ("expected an integer from 1 to 65535, got \"2\"", "0 is out of range (expected 1-65535)").
///
/// A reader reports every problem it finds and goes on, so that one run lists them all; the
/// `ConfigFile` ladder turns what it collected into a `Loaded` value or `ConfigErrors`.
public struct ConfigReader {
    public let file: String
    public var tableIndex: Int?
    public var tableName: String?
    public private(set) var issues: [ConfigIssue] = []

    public init(file: String) { self.file = file }

    public var hasErrors: Bool { issues.contains { $0.severity == .error } }

    /// Errors reported so far: a part of the file is usable when reading it added none.
    public var errorCount: Int { issues.filter { $0.severity == .error }.count }

    public mutating func error(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.error, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    public mutating func warning(_ field: String?, _ message: String) {
        issues.append(ConfigIssue(.warning, file: file, tableIndex: tableIndex, tableName: tableName, field: field, message: message))
    }

    /// The document's top-level object; otherwise an error, "expected a JSON object with
    /// `contents`, got …", at `field`, and nil.
    public mutating func rootObject(_ json: JSONValue, with contents: String? = nil, field: String? = nil) -> JSONObject? {
        guard case .object(let root) = json else {
            error(field, "expected a JSON object\(contents.map { " with \($0)" } ?? ""), got \(json.kindName)")
            return nil
        }
        return root
    }

    /// A warning for each key of `object` not in `known`. `listingKnown` names the known keys
    /// in the message (in the order given), which helps to spot a typo among a few keys.
    public mutating func warnUnknownKeys(_ object: JSONObject, known: [String], at path: String?, listingKnown: Bool = true) {
        for key in object.keys where !known.contains(key) {
            let hint = listingKnown ? " (expected one of: \(known.joined(separator: ", ")))" : ""
            warning(Self.field(key, at: path), "unknown key, ignored\(hint)")
        }
    }

    /// `path.key`, or `key` at the top of the document.
    public static func field(_ key: String, at path: String?) -> String {
        path.map { "\($0).\(key)" } ?? key
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

/// Typed keys: each returns nil when the key is absent, and nil after reporting an error when
/// its value is of the wrong type or out of range.
extension ConfigReader {
    public mutating func bool(_ object: JSONObject, _ key: String, at path: String? = nil) -> Bool? {
        guard let value = object[key] else { return nil }
        guard case .bool(let b) = value else {
            error(Self.field(key, at: path), "expected true or false, got \(Self.describe(value))")
            return nil
        }
        return b
    }

    public mutating func integer(_ object: JSONObject, _ key: String, at path: String? = nil, in range: ClosedRange<Int>) -> Int? {
        guard let value = object[key] else { return nil }
        let field = Self.field(key, at: path)
        guard case .integer(let i) = value else {
            error(field, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(Self.describe(value))")
            return nil
        }
        guard range.contains(Int(clamping: i)) else {
            error(field, "\(i) is out of range (expected \(range.lowerBound)-\(range.upperBound))")
            return nil
        }
        return Int(i)
    }

    /// A number (an integer is one too) in `range`.
    public mutating func number(_ object: JSONObject, _ key: String, at path: String? = nil, in range: ClosedRange<Double>) -> Double? {
        let value: Double
        switch object[key] {
        case nil: return nil
        case .integer(let i)?: value = Double(i)
        case .number(let d)?: value = d
        case let other?:
            error(Self.field(key, at: path), "expected a number from \(range.lowerBound) to \(range.upperBound), got \(Self.describe(other))")
            return nil
        }
        guard range.contains(value) else {
            error(Self.field(key, at: path), "\(value) is out of range (expected \(range.lowerBound) to \(range.upperBound))")
            return nil
        }
        return value
    }

    /// A non-empty string; a `required` key that is absent is an error too.
    public mutating func string(_ object: JSONObject, _ key: String, at path: String? = nil, required: Bool = false) -> String? {
        let field = Self.field(key, at: path)
        switch object[key] {
        case nil:
            if required { error(field, "missing") }
            return nil
        case .string(let s)? where !s.isEmpty:
            return s
        case let other?:
            error(field, "expected a non-empty string, got \(ConfigReader.describe(other))")
            return nil
        }
    }
}
