import GLBCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Log lines in GLB Director's format, one JSON object per line:
/// `{"timestamp": 1764172800.123456, "level": "info", "message": "…"}`, with any metadata as
/// further keys. Errors and warnings go to stderr, everything else to stdout, as GLB does, so
/// existing log pipelines keep parsing them. When the stream is systemd's journal, each line
/// starts with its sd-daemon priority (`<3>` for an error, see `JournalStream`), so that
/// `journalctl -p err` finds the errors; journald strips the prefix.
public struct GLBLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level

    public init(level: Logger.Level = .info) {
        logLevel = level
    }

    /// Routes every logger of the process through this handler.
    public static func bootstrap(debug: Bool) {
        LoggingSystem.bootstrap { _ in GLBLogHandler(level: debug ? .debug : .info) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = JSONObject()
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields[key] = Self.json(value)
        }
        let line = Self.line(level: Self.name(event.level), message: "\(event.message)", fields: fields)
        let toStderr = event.level >= .warning
        let journal = toStderr ? Self.journal.stderr : Self.journal.stdout
        let framed = journal ? JournalStream.prefixed(line, Self.priority(event.level)) : line
        FileIO.writeAll(fd: toStderr ? STDERR_FILENO : STDOUT_FILENO, Array((framed + "\n").utf8))
    }

    /// Whether stdout and stderr are the journal: looked at once, they do not change.
    static let journal = (stdout: JournalStream.isJournal(fd: STDOUT_FILENO), stderr: JournalStream.isJournal(fd: STDERR_FILENO))

    static func priority(_ level: Logger.Level) -> JournalStream.Priority {
        switch level {
        case .trace, .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }

    /// One line in GLB's format: the timestamp first as a bare number, then level, message
    /// and any further fields.
    public static func line(level: String, message: String, fields: JSONObject = JSONObject()) -> String {
        var object = JSONObject()
        object["level"] = .string(level)
        object["message"] = .string(message)
        for member in fields.members { object[member.key] = member.value }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let micros = String(ts.tv_nsec / 1000)
        let timestamp = "\(ts.tv_sec).\(String(repeating: "0", count: 6 - micros.count))\(micros)"
        return "{\"timestamp\": \(timestamp), " + JSONValue.object(object).compactSerialized().dropFirst()
    }

    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info, .notice: return "info"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }
}
