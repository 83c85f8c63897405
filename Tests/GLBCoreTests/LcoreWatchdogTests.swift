import GLBCore
import Testing

@Suite("Director watchdog")
struct LcoreWatchdogTests {
    /// Feeds samples (times in milliseconds) to one watchdog; records whether each pinged.
    final class Feed {
        var watchdog: LcoreWatchdog
        init(intervalMilliseconds: UInt64) { watchdog = LcoreWatchdog(intervalNanoseconds: intervalMilliseconds * 1_000_000) }
        func ping(_ loops: [UInt64], at milliseconds: UInt64) -> Bool {
            watchdog.update(loops: loops, now: milliseconds * 1_000_000)
        }
    }

    @Test("pings once per interval while every lcore's loop counter moves")
    func progressing() {
        let w = Feed(intervalMilliseconds: 100)
        #expect(!w.ping([0, 0], at: 0), "the first sample only sets the baseline")
        #expect(!w.ping([5, 5], at: 50), "not before the interval")
        #expect(w.ping([9, 9], at: 100))
        #expect(!w.ping([12, 12], at: 150))
        #expect(w.ping([20, 20], at: 200))
    }

    @Test("one lcore standing still stops the pings; moving again brings them back")
    func stuckLcore() {
        let w = Feed(intervalMilliseconds: 100)
        _ = w.ping([1, 1], at: 0)
        #expect(w.ping([2, 2], at: 100))
        for t in stride(from: UInt64(110), through: 2000, by: 10) {
            #expect(!w.ping([t, 2], at: t), "lcore 2 stands still at \(t) ms")
        }
        #expect(w.ping([3000, 3], at: 2010))
    }

    @Test("progress counts from the last ping: a counter at its value of then is no progress")
    func comparedWithLastPing() {
        let w = Feed(intervalMilliseconds: 10)
        _ = w.ping([7], at: 0)
        #expect(!w.ping([7], at: 20))
        #expect(w.ping([8], at: 30))
        #expect(!w.ping([8], at: 60))
    }

    @Test("without lcores it still pings once per interval (the caller's own loop is alive)")
    func noLcores() {
        let w = Feed(intervalMilliseconds: 10)
        _ = w.ping([], at: 0)
        #expect(w.ping([], at: 10))
    }
}
