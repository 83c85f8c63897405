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
}

extension HealthcheckFile: ConfigFile {
    public static let sizeLimit = 1 << 20

    public static func read(_ json: JSONValue, _ reader: inout ConfigReader) -> HealthcheckFile? {
        guard let root = reader.rootObject(json, with: "\"forwarding_table\" and \"reload_command\"") else { return nil }
        reader.warnUnknownKeys(root, known: ["forwarding_table", "reload_command"], at: nil)
        var config = HealthcheckFile()

        switch root["forwarding_table"] {
        case nil:
            reader.warning("forwarding_table", "missing: using src \(defaultSource) and dst \(defaultDestination)")
        case .object(let paths)?:
            reader.warnUnknownKeys(paths, known: ["src", "dst"], at: "forwarding_table")
            config.source = readPath(paths, "src", default: defaultSource, &reader) ?? config.source
            config.destination = readPath(paths, "dst", default: defaultDestination, &reader) ?? config.destination
        case let other?:
            reader.error("forwarding_table", "expected an object with \"src\" and \"dst\" paths, got \(other.kindName)")
        }

        switch root["reload_command"] {
        case nil, .null?:
            break
        case .string(let command)?:
            if command.allSatisfy(\.isWhitespace) {
                reader.error("reload_command", "empty: leave the key out to write the destination without reloading")
            } else {
                config.reloadCommand = command
            }
        case let other?:
            reader.error("reload_command", "expected a shell command as a string, got \(ConfigReader.describe(other))")
        }

        if FileIO.isSameFile(config.source, config.destination) {
            reader.error("forwarding_table", "src and dst are the same file (\(config.source)): the checked table would overwrite its source")
        }
        return config
    }
}

extension HealthcheckFile {
    /// Refuses a destination that cannot be written where it is configured (a missing or
    /// read-only folder), so that the mistake stops the start instead of failing the first
    /// write after the first round. `file` names the configuration in the message.
    public func checkDestinationWritable(file: String) throws(ConfigErrors) {
        guard let problem = FileIO.problemWriting(destination) else { return }
        throw ConfigErrors([ConfigIssue(.error, file: file, field: "forwarding_table.dst",
                                        message: "cannot write \(destination): \(problem)")])
    }

    private static func readPath(_ object: JSONObject, _ key: String, default fallback: String,
                                 _ reader: inout ConfigReader) -> String? {
        let field = "forwarding_table.\(key)"
        switch object[key] {
        case nil:
            reader.warning(field, "missing: using \(fallback)")
            return fallback
        case .string(let path)?:
            guard !path.isEmpty else {
                reader.error(field, "empty path")
                return nil
            }
            guard !path.hasSuffix("/") else {
                reader.error(field, "\"\(path)\" names a folder, expected a file")
                return nil
            }
            return path
        case let other?:
            reader.error(field, "expected a file path as a string, got \(ConfigReader.describe(other))")
            return nil
        }
    }
}
