import GLBCore
import Logging
import Testing
@testable import GLBLogging

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
}
