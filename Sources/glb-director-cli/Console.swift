import GLBCore

#if canImport(Glibc)
import Glibc
#endif

/// Output helpers: plain text for people, and GLB's JSON log lines where GLB's tooling
/// expects them (`build-config`).
enum Console {
    static func out(_ text: String, terminator: String = "\n") {
        print(text, terminator: terminator)
    }

    static func error(_ text: String) {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// One log line in GLB Director's format: `{"timestamp": …, "level": …, "message": …}`.
    static func glbLog(_ level: String, _ message: String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let fraction = String(ts.tv_nsec / 1000)
        let timestamp = "\(ts.tv_sec).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
        var object = JSONObject()
        object["level"] = .string(level)
        object["message"] = .string(message)
        let body = JSONValue.object(object).compactSerialized()
        // GLB writes the timestamp first, as a bare number.
        let line = "{\"timestamp\": \(timestamp), " + body.dropFirst()
        if level == "error" || level == "warning" { error(line) } else { out(line) }
    }
}
