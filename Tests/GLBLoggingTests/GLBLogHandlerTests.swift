import GLBCore
import Logging
import Synchronization
import Testing
@testable import GLBLogging

#if canImport(Glibc)
import Glibc
#endif

@Suite("GLB log lines")
struct GLBLogHandlerTests {
    @Test("swift-log's levels map to syslog priorities: journalctl -p err shows errors and worse")
    func priorities() {
        let expected: [(Logger.Level, String)] = [
            (.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"),
            (.warning, "<4>"), (.error, "<3>"), (.critical, "<2>"),
        ]
        for (level, prefix) in expected {
            #expect(JournalStream.prefixed("", GLBLogHandler.priority(level)) == prefix, "\(level)")
        }
    }

    /// A logger whose lines (with whether each belongs on stderr) are kept, dated `seconds`.
    static func logger(_ format: GLBLogHandler.Format, level: Logger.Level = .debug, journal: Bool = false,
                       seconds: Int = 0, nanoseconds: Int = 0, into lines: Lines) -> Logger {
        let clock: @Sendable () -> timespec = { timespec(tv_sec: seconds, tv_nsec: nanoseconds) }
        let output = LogOutput(clock: clock) { line, toStderr, priority in
            lines.append((journal ? JournalStream.prefixed(line, priority) : line, toStderr))
        }
        return Logger(label: "test") { _ in GLBLogHandler(format: format, level: level, output: output) }
    }

    @Test("GLB's JSON lines: the timestamp first with microseconds, metadata in key order; warnings and errors on stderr")
    func json() {
        let lines = Lines()
        let log = Self.logger(.json, seconds: 1_764_172_800, nanoseconds: 4_567_000, into: lines)
        log.info("table loaded", metadata: ["tables": "2", "file": "a \"b\""])
        log.warning("w")
        log.error("e")
        log.debug("d")
        #expect(lines.all.map(\.0) == [
            #"{"timestamp": 1764172800.004567, "level": "info", "message": "table loaded", "file": "a \"b\"", "tables": "2"}"#,
            #"{"timestamp": 1764172800.004567, "level": "warning", "message": "w"}"#,
            #"{"timestamp": 1764172800.004567, "level": "error", "message": "e"}"#,
            #"{"timestamp": 1764172800.004567, "level": "debug", "message": "d"}"#,
        ])
        #expect(lines.all.map(\.1) == [false, true, true, false])
    }

    @Test("logfmt: plain words bare, everything else quoted and escaped, one line always, fields in the order given")
    func logfmt() {
        let line = GLBLogHandler.logfmt(time: WallTime(secondsSinceEpoch: 1_700_000_000.25), level: "warning", message: "backend unhealthy",
                                        fields: [("backend", "10.0.0.1"), ("failed", "http://10.0.0.1:80/: HTTP 500 \"x\"\nnext"), ("empty", "")])
        #expect(line == #"time=2023-11-14T22:13:20.250Z level=warning msg="backend unhealthy" backend=10.0.0.1 failed="http://10.0.0.1:80/: HTTP 500 \"x\"\nnext" empty="""#)
        #expect(GLBLogHandler.quoted("a=b") == #""a=b""#)
        #expect(GLBLogHandler.quoted("tab\there") == #""tab\there""#)
        #expect(GLBLogHandler.quoted("\u{1}") == #""\u0001""#)

        // Through a logger: the order of the call, not of the keys; every line on stderr.
        let lines = Lines()
        let log = Self.logger(.logfmt, seconds: 1_700_000_000, nanoseconds: 250_000_000, into: lines)
        log.info("backend healthy", [("tables", "web"), ("backend", "10.0.0.1"), ("first_result", "true")])
        #expect(lines.all.map(\.0) == [#"time=2023-11-14T22:13:20.250Z level=info msg="backend healthy" tables=web backend=10.0.0.1 first_result=true"#])
        #expect(lines.all.map(\.1) == [true])
    }

    @Test("levels below the logger's are dropped, in both formats")
    func levels() {
        for format in [GLBLogHandler.Format.json, .logfmt] {
            let lines = Lines()
            let log = Self.logger(format, level: .info, into: lines)
            log.debug("hidden")
            log.debug("hidden", [("k", "v")])
            log.info("shown")
            log.error("also shown", [("k", "v")])
            #expect(lines.all.count == 2)
            #expect(lines.all.allSatisfy { !$0.0.contains("hidden") })
        }
    }

    @Test("for the journal, each line starts with its sd-daemon priority; otherwise with nothing")
    func journalPriorities() {
        let journal = Lines(), plain = Lines()
        for log in [Self.logger(.logfmt, journal: true, into: journal), Self.logger(.logfmt, into: plain)] {
            log.error("e")
            log.warning("w")
            log.info("i")
            log.debug("d")
        }
        let line = { (level: String, msg: String) in "time=1970-01-01T00:00:00.000Z level=\(level) msg=\(msg)" }
        #expect(journal.all.map(\.0) == ["<3>" + line("error", "e"), "<4>" + line("warning", "w"), "<6>" + line("info", "i"), "<7>" + line("debug", "d")])
        #expect(plain.all.map(\.0) == [line("error", "e"), line("warning", "w"), line("info", "i"), line("debug", "d")])
    }
}

/// Collects log lines in tests.
final class Lines: Sendable {
    private let storage = Mutex<[(String, Bool)]>([])

    var all: [(String, Bool)] { storage.withLock { $0 } }

    func append(_ line: (String, Bool)) {
        storage.withLock { $0.append(line) }
    }
}
