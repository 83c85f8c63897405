import GLBCore
import Testing

@Suite("Director readiness")
struct ReadinessTests {
    static let ms: UInt64 = 1_000_000

    static func sample(_ now: UInt64, _ loops: [UInt64], portsDown: [UInt16] = [], binds: Int = 3, stopping: Bool = false) -> ReadinessTracker.Sample {
        ReadinessTracker.Sample(now: now * ms, loops: loops, portsDown: portsDown, binds: binds, stopping: stopping)
    }

    @Test("ready while every lcore's loop counter moves within the window")
    func progressing() {
        var t = ReadinessTracker(lcores: [1, 2], windowMilliseconds: 100)
        #expect(t.update(Self.sample(0, [0, 0])).isReady)
        #expect(t.update(Self.sample(90, [5, 7])).isReady)
        #expect(t.update(Self.sample(180, [9, 8])).isReady)
    }

    @Test("an lcore whose counter stands still for longer than the window makes it not ready, and moving again makes it ready")
    func hungLcore() {
        var t = ReadinessTracker(lcores: [1, 2], windowMilliseconds: 100)
        _ = t.update(Self.sample(0, [1, 1]))
        #expect(t.update(Self.sample(60, [2, 1])).isReady)
        #expect(t.update(Self.sample(100, [3, 1])).isReady, "exactly the window is still within it")
        let hung = t.update(Self.sample(101, [4, 1]))
        #expect(hung.reasons == ["lcore 2 made no progress for 101 ms (window 100 ms)"])
        #expect(t.update(Self.sample(120, [5, 2])).isReady)
    }

    @Test("a stop under way, a port without link and a table without binds are each a reason")
    func otherReasons() {
        var t = ReadinessTracker(lcores: [1], windowMilliseconds: 100)
        let verdict = t.update(Self.sample(0, [1], portsDown: [0, 2], binds: 0, stopping: true))
        #expect(verdict.reasons == [
            "stopping: the grace period after a stop signal", "port 0 has no link", "port 2 has no link",
            "the loaded table has no binds",
        ])
        #expect(verdict.description.hasPrefix("not ready: stopping"))
        #expect(Readiness.ready.description == "ready")
    }
}
