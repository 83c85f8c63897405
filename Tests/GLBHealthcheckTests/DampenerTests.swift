import Testing
@testable import GLBHealthcheck

@Suite("Dampener")
struct DampenerTests {
    /// Feeds results and returns the health after each one.
    static func run(_ results: [Bool], trigger: Int, from start: Bool? = nil) -> [Bool?] {
        var dampener = Dampener(healthy: start)
        return results.map { _ = dampener.record($0, trigger: trigger); return dampener.healthy }
    }

    @Test("the first result sets the health at once, in either direction")
    func first() {
        var up = Dampener()
        #expect(up.healthy == nil)
        #expect(up.record(true, trigger: 3) == .established(true))
        var down = Dampener()
        #expect(down.record(false, trigger: 3) == .established(false))
        #expect(down.healthy == false)
    }

    @Test("health changes only after `trigger` disagreeing results in a row, both ways")
    func trigger() {
        #expect(Self.run([false, false, false], trigger: 3, from: true) == [true, true, false])
        #expect(Self.run([true, true, true], trigger: 3, from: false) == [false, false, true])
        var d = Dampener(healthy: true)
        #expect(d.record(false, trigger: 2) == .unchanged)
        #expect(d.disagreeing == 1)
        #expect(d.record(false, trigger: 2) == .changed(to: false))
        #expect(d.disagreeing == 0)
    }

    @Test("one agreeing result resets the count")
    func reset() {
        #expect(Self.run([false, false, true, false, false, false], trigger: 3, from: true)
            == [true, true, true, true, true, false])
        #expect(Self.run([true, false, true, false, true], trigger: 2, from: false)
            == [false, false, false, false, false])
    }

    @Test("trigger 1 follows every result; a trigger below 1 counts as 1")
    func triggerOne() {
        #expect(Self.run([false, true, false], trigger: 1, from: true) == [false, true, false])
        #expect(Self.run([false, true], trigger: 0, from: true) == [false, true])
    }

    @Test("a lower trigger applies to a count already under way")
    func triggerChange() {
        var d = Dampener(healthy: true)
        _ = d.record(false, trigger: 5)
        _ = d.record(false, trigger: 5)
        #expect(d.record(false, trigger: 2) == .changed(to: false))
    }
}
