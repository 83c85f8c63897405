/// A configuration file format: how large its files may be and how to read its document.
/// Every format is loaded through the same ladder (file, JSON, document) and gives the same
/// result, so that no reader can drop its warnings: a file with an error throws
/// `ConfigErrors` (its warnings included), a usable one gives a `Loaded` value with its
/// warnings, which the program must log or print.
public protocol ConfigFile {
    /// Larger files are refused before they are read.
    static var sizeLimit: Int { get }

    /// Reads a parsed document, reporting every problem into `reader`; nil only after
    /// reporting an error.
    static func read(_ document: JSONValue, _ reader: inout ConfigReader) -> Self?
}

/// A configuration that can be used, and what it holds that works but is likely a mistake
/// (unknown keys, keys that do nothing).
public struct Loaded<Config> {
    public var config: Config
    public var warnings: [ConfigIssue]

    public init(config: Config, warnings: [ConfigIssue]) {
        self.config = config
        self.warnings = warnings
    }
}

extension Loaded: Sendable where Config: Sendable {}

extension ConfigFile {
    /// Reads and checks a file; an unreadable file (missing, not a regular file, larger than
    /// `sizeLimit`) and a JSON syntax error are reported as one error that names the file.
    public static func load(path: String) throws(ConfigErrors) -> Loaded<Self> {
        try decode(ConfigDocument.read(path: path, limit: sizeLimit), file: path)
    }

    /// Checks configuration text; `file` names it in messages.
    public static func decode(bytes: [UInt8], file: String) throws(ConfigErrors) -> Loaded<Self> {
        try decode(ConfigDocument.parse(bytes, file: file), file: file)
    }

    /// Checks a parsed document; `file` names it in messages.
    public static func decode(_ document: JSONValue, file: String) throws(ConfigErrors) -> Loaded<Self> {
        var reader = ConfigReader(file: file)
        let config = read(document, &reader)
        guard let config, !reader.hasErrors else {
            assert(reader.hasErrors, "\(Self.self).read gave nothing without reporting why")
            throw ConfigErrors(reader.issues)
        }
        return Loaded(config: config, warnings: reader.issues)
    }
}
