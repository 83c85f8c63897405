import GLBCore
import GLBLogging

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
        FileIO.writeAll(fd: STDERR_FILENO, Array((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// One log line in GLB Director's format: `{"timestamp": …, "level": …, "message": …}`.
    static func glbLog(_ level: String, _ message: String) {
        let line = GLBLogHandler.line(level: level, message: message)
        if level == "error" || level == "warning" { error(line) } else { out(line) }
    }
}
