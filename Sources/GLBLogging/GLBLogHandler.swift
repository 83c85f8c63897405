import GLBCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The one swift-log handler of SwiftGLB's programs. It writes each event as one line in one
/// of the two formats the programs have always written:
///
/// - `.json`, GLB Director's format (director, announcer, balancer, CLI):
///   `{"timestamp": 1764172800.123456, "level": "info", "message": "…"}`, with any metadata as
///   further keys in key order. Errors and warnings go to stderr, everything else to stdout, as
///   GLB does, so existing log pipelines keep parsing them.
/// - `.logfmt`, the health checker's: `time=… level=… msg="…" key=value …`, every line on
///   stderr, fields in the order the call gave them (see `Logger.log(_:_:_:)`).
///
/// When the stream is systemd's journal, each line starts with its sd-daemon priority (`<3>`
/// for an error, see `JournalStream`), so that `journalctl -p err` finds the errors; journald
/// strips the prefix.
public struct GLBLogHandler: LogHandler {
    public enum Format: Sendable {
        case json
        case logfmt
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let format: Format
    private let output: LogOutput

    public init(format: Format = .json, level: Logger.Level = .info, output: LogOutput = .standardStreams) {
        self.format = format
        self.logLevel = level
        self.output = output
    }

    /// Routes every logger of the process through this handler.
    public static func bootstrap(format: Format = .json, level: Logger.Level) {
        LoggingSystem.bootstrap { _ in GLBLogHandler(format: format, level: level) }
    }

    /// GLB's JSON lines, at debug level or info.
    public static func bootstrap(debug: Bool) {
        bootstrap(level: debug ? .debug : .info)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let order = all.removeValue(forKey: Self.fieldOrderKey)
        let time = output.clock()
        let line: String
        let toStderr: Bool
        switch format {
        case .json:
            var fields = JSONObject()
            for (key, value) in all.sorted(by: { $0.key < $1.key }) { fields[key] = Self.json(value) }
            line = Self.line(level: Self.name(event.level), message: "\(event.message)", fields: fields, time: time)
            toStderr = event.level >= .warning
        case .logfmt:
            line = Self.logfmt(time: WallTime(time), level: Self.name(event.level), message: "\(event.message)",
                               fields: Self.ordered(all, by: order))
            toStderr = true
        }
        output.write(line, toStderr, Self.priority(event.level))
    }

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

    // MARK: GLB's JSON lines

    /// One line in GLB's format: the timestamp first as a bare number with microseconds, then
    /// level, message and any further fields.
    public static func line(level: String, message: String, fields: JSONObject = JSONObject(),
                            time: timespec = WallTime.realTime()) -> String {
        var object = JSONObject()
        object["level"] = .string(level)
        object["message"] = .string(message)
        for member in fields.members { object[member.key] = member.value }
        let timestamp = "\(time.tv_sec).\(String(time.tv_nsec / 1000).leftPadded(to: 6))"
        return "{\"timestamp\": \(timestamp), " + JSONValue.object(object).compactSerialized().dropFirst()
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }

    // MARK: logfmt

    /// One logfmt line: `time=… level=… msg=… key=value …`.
    public static func logfmt(time: WallTime, level: String, message: String, fields: [(String, String)]) -> String {
        var parts = ["time=\(time.iso8601)", "level=\(level)", "msg=\(quoted(message))"]
        for (key, value) in fields { parts.append("\(key)=\(quoted(value))") }
        return parts.joined(separator: " ")
    }

    /// The value as is when it is a plain word, otherwise as a JSON string literal (`"`, `\`
    /// and control characters escaped), so one event always stays on one line and a parser
    /// can read any quoted value with a JSON decoder.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy {
            $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "=" && $0 != "\\"
        }
        return plain ? value : JSONValue.quoted(value)
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        if case .string(let s) = value { return s }
        return value.description
    }

    /// The fields in the order a call gave them, then any others (the logger's own metadata)
    /// in key order.
    static func ordered(_ metadata: Logger.Metadata, by order: Logger.Metadata.Value?) -> [(String, String)] {
        var rest = metadata
        var fields: [(String, String)] = []
        if case .array(let keys)? = order {
            for case .string(let key) in keys {
                if let value = rest.removeValue(forKey: key) { fields.append((key, text(value))) }
            }
        }
        for (key, value) in rest.sorted(by: { $0.key < $1.key }) { fields.append((key, text(value))) }
        return fields
    }

    /// The metadata key under which `Logger.log(_:_:_:)` passes its fields' order: swift-log's
    /// metadata is a dictionary, and a logfmt line's fields are read in the order written.
    static let fieldOrderKey = "glb.field-order"
}

/// Where a `GLBLogHandler`'s lines go, and the clock that dates them.
public struct LogOutput: Sendable {
    let clock: @Sendable () -> timespec
    /// A finished line (no newline), whether it belongs on stderr, and its journal priority.
    let write: @Sendable (String, Bool, JournalStream.Priority) -> Void

    public init(clock: @escaping @Sendable () -> timespec = WallTime.realTime,
                write: @escaping @Sendable (_ line: String, _ toStderr: Bool, _ priority: JournalStream.Priority) -> Void) {
        self.clock = clock
        self.write = write
    }

    /// stdout and stderr, each with priorities when it is the journal.
    public static let standardStreams = LogOutput { line, toStderr, priority in
        let journal = toStderr ? Self.journal.stderr : Self.journal.stdout
        let framed = journal ? JournalStream.prefixed(line, priority) : line
        FileIO.writeAll(fd: toStderr ? STDERR_FILENO : STDOUT_FILENO, Array((framed + "\n").utf8))
    }

    /// Every line to `sink`, with priorities when `journalPriorities` is set (for tests).
    public static func lines(journalPriorities: Bool = false, clock: @escaping @Sendable () -> timespec = WallTime.realTime,
                             _ sink: @escaping @Sendable (String) -> Void) -> LogOutput {
        LogOutput(clock: clock) { line, _, priority in
            sink(journalPriorities ? JournalStream.prefixed(line, priority) : line)
        }
    }

    /// Whether stdout and stderr are the journal: looked at once, they do not change.
    static let journal = (stdout: JournalStream.isJournal(fd: STDOUT_FILENO), stderr: JournalStream.isJournal(fd: STDERR_FILENO))
}

extension Logger {
    /// Logs `message` with `fields` in the order given, which logfmt lines keep.
    public func log(_ level: Logger.Level, _ message: String, _ fields: [(String, String)],
                    file: String = #fileID, function: String = #function, line: UInt = #line) {
        guard level >= logLevel else { return }
        var metadata: Logger.Metadata = [GLBLogHandler.fieldOrderKey: .array(fields.map { .string($0.0) })]
        for (key, value) in fields { metadata[key] = .string(value) }
        log(level: level, "\(message)", metadata: metadata, file: file, function: function, line: line)
    }

    public func debug(_ message: String, _ fields: [(String, String)], file: String = #fileID, function: String = #function, line: UInt = #line) {
        log(.debug, message, fields, file: file, function: function, line: line)
    }

    public func info(_ message: String, _ fields: [(String, String)], file: String = #fileID, function: String = #function, line: UInt = #line) {
        log(.info, message, fields, file: file, function: function, line: line)
    }

    public func warning(_ message: String, _ fields: [(String, String)], file: String = #fileID, function: String = #function, line: UInt = #line) {
        log(.warning, message, fields, file: file, function: function, line: line)
    }

    public func error(_ message: String, _ fields: [(String, String)], file: String = #fileID, function: String = #function, line: UInt = #line) {
        log(.error, message, fields, file: file, function: function, line: line)
    }
}
