import GLBCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much a log line matters.
public enum LogLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case debug
    case info
    case warning
    case error

    public var description: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    var priority: JournalStream.Priority {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .warning: return .warning
        case .error: return .error
        }
    }
}

/// Writes one line per event in logfmt: `time=… level=… msg="…" key=value …`, which people
/// read easily and journald, Loki or `grep` take apart without a parser of their own.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    private let sink: @Sendable (String) -> Void
    private let clock: @Sendable () -> WallTime
    private let journalPriorities: Bool

    /// - Parameters:
    ///   - minimumLevel: lines below this level are dropped.
    ///   - clock: the time written on each line.
    ///   - journalPriorities: start each line with its sd-daemon priority (`<3>` for an
    ///     error, see `JournalStream`), for a sink that writes to systemd's journal.
    ///   - sink: receives each finished line, without its newline.
    public init(minimumLevel: LogLevel = .info, clock: @escaping @Sendable () -> WallTime = WallTime.now,
                journalPriorities: Bool = false, sink: @escaping @Sendable (String) -> Void) {
        self.minimumLevel = minimumLevel
        self.clock = clock
        self.journalPriorities = journalPriorities
        self.sink = sink
    }

    /// A logger that writes to standard error (with priorities when that is the journal).
    public static func standardError(minimumLevel: LogLevel) -> Logger {
        Logger(minimumLevel: minimumLevel, journalPriorities: JournalStream.isJournal(fd: STDERR_FILENO)) { line in
            FileIO.writeAll(fd: STDERR_FILENO, Array((line + "\n").utf8))
        }
    }

    public func log(_ level: LogLevel, _ message: String, _ fields: [(String, String)] = []) {
        guard level >= minimumLevel else { return }
        let line = Logger.format(time: clock(), level: level, message: message, fields: fields)
        sink(journalPriorities ? JournalStream.prefixed(line, level.priority) : line)
    }

    public func debug(_ message: String, _ fields: [(String, String)] = []) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: [(String, String)] = []) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [(String, String)] = []) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [(String, String)] = []) { log(.error, message, fields) }

    /// One logfmt line (no newline).
    public static func format(time: WallTime, level: LogLevel, message: String, fields: [(String, String)]) -> String {
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
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
