import GLBCore

/// `healthcheck.conf` in GLB's schema:
///
///     {
///       "forwarding_table": {
///         "src": "/etc/glb/forwarding_table.src.json",
///         "dst": "/etc/glb/forwarding_table.checked.json"
///       },
///       "reload_command": "glb-director-cli build-config … && systemctl reload glb-director"
///     }
///
/// `src` and `dst` default to the paths GLB documents; `reload_command` is optional (without
/// it the destination is still written, and nothing is reloaded).
public struct HealthcheckFile: Equatable, Sendable {
    public static let defaultSource = "/etc/glb/forwarding_table.src.json"
    public static let defaultDestination = "/etc/glb/forwarding_table.checked.json"
    public static let defaultPath = "/etc/glb/healthcheck.conf"

    /// The source table: backends, their checks, and the check settings.
    public var source: String
    /// The table written with `healthy` filled in.
    public var destination: String
    /// A shell command (`/bin/sh -c`) run after each write of the destination.
    public var reloadCommand: String?

    public init(source: String = defaultSource, destination: String = defaultDestination, reloadCommand: String? = nil) {
        self.source = source
        self.destination = destination
        self.reloadCommand = reloadCommand
    }

    /// The configuration and its warnings, or every error found.
    public struct Loaded: Sendable {
        public var file: HealthcheckFile
        public var warnings: [ConfigIssue]
    }

    /// Reads and checks a configuration file.
    public static func load(path: String) throws(ConfigErrors) -> Loaded {
        try decode(ConfigDocument.read(path: path, limit: 1 << 20), file: path)
    }

    /// Checks configuration text; `file` names it in messages.
    public static func decode(bytes: [UInt8], file: String) throws(ConfigErrors) -> Loaded {
        try decode(ConfigDocument.parse(bytes, file: file), file: file)
    }

    static func decode(_ json: JSONValue, file: String) throws(ConfigErrors) -> Loaded {
        var issues = IssueList(file: file)
        let config = read(json, into: &issues)
        guard let config, !issues.hasErrors else { throw ConfigErrors(issues.issues) }
        return Loaded(file: config, warnings: issues.issues)
    }

    private static func read(_ json: JSONValue, into issues: inout IssueList) -> HealthcheckFile? {
        guard case .object(let root) = json else {
            issues.error(nil, "expected a JSON object with \"forwarding_table\" and \"reload_command\", got \(json.kindName)")
            return nil
        }
        issues.warnUnknownKeys(root, known: ["forwarding_table", "reload_command"], at: nil)
        var config = HealthcheckFile()

        switch root["forwarding_table"] {
        case nil:
            issues.warning("forwarding_table", "missing: using src \(defaultSource) and dst \(defaultDestination)")
        case .object(let paths)?:
            issues.warnUnknownKeys(paths, known: ["src", "dst"], at: "forwarding_table")
            config.source = readPath(paths, "src", default: defaultSource, into: &issues) ?? config.source
            config.destination = readPath(paths, "dst", default: defaultDestination, into: &issues) ?? config.destination
        case let other?:
            issues.error("forwarding_table", "expected an object with \"src\" and \"dst\" paths, got \(other.kindName)")
        }

        switch root["reload_command"] {
        case nil, .null?:
            break
        case .string(let command)?:
            if command.allSatisfy(\.isWhitespace) {
                issues.error("reload_command", "empty: leave the key out to write the destination without reloading")
            } else {
                config.reloadCommand = command
            }
        case let other?:
            issues.error("reload_command", "expected a shell command as a string, got \(IssueList.describe(other))")
        }

        if FileIO.isSameFile(config.source, config.destination) {
            issues.error("forwarding_table", "src and dst are the same file (\(config.source)): the checked table would overwrite its source")
        }
        return config
    }

    /// Refuses a destination that cannot be written where it is configured (a missing or
    /// read-only folder), so that the mistake stops the start instead of failing the first
    /// write after the first round. `file` names the configuration in the message.
    public func checkDestinationWritable(file: String) throws(ConfigErrors) {
        guard let problem = FileIO.problemWriting(destination) else { return }
        throw ConfigErrors([ConfigIssue(.error, file: file, field: "forwarding_table.dst",
                                        message: "cannot write \(destination): \(problem)")])
    }

    private static func readPath(_ object: JSONObject, _ key: String, default fallback: String,
                                 into issues: inout IssueList) -> String? {
        let field = "forwarding_table.\(key)"
        switch object[key] {
        case nil:
            issues.warning(field, "missing: using \(fallback)")
            return fallback
        case .string(let path)?:
            guard !path.isEmpty else {
                issues.error(field, "empty path")
                return nil
            }
            guard !path.hasSuffix("/") else {
                issues.error(field, "\"\(path)\" names a folder, expected a file")
                return nil
            }
            return path
        case let other?:
            issues.error(field, "expected a file path as a string, got \(IssueList.describe(other))")
            return nil
        }
    }
}
