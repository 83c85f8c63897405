import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Health ledger")
struct HealthLedgerTests {
    static let http = CheckTarget(kind: .http, address: Samples.ip("10.0.0.1"), port: 80)
    static let gue = CheckTarget(kind: .gue, address: Samples.ip("10.0.0.1"), port: 19523)
    static let key = BackendKey(address: Samples.ip("10.0.0.1"), checks: [gue, http])

    static func round(http: Bool, gue: Bool, at t: Double) -> [CheckTarget: CheckRecord] {
        func record(_ target: CheckTarget, _ passed: Bool) -> CheckRecord {
            CheckRecord(target: target, outcome: passed ? .passed(after: .milliseconds(1)) : .failed("HTTP 503 Service Unavailable, expected 200", after: .milliseconds(2)),
                        at: WallTime(secondsSinceEpoch: t))
        }
        return [Self.http: record(Self.http, http), Self.gue: record(Self.gue, gue)]
    }

    @Test("a backend is healthy only when every check passes; transitions carry the evidence")
    func evidence() throws {
        var ledger = HealthLedger()
        let firstResult = ledger.record(Self.key, results: Self.round(http: true, gue: true, at: 1), trigger: 2,
                                        at: WallTime(secondsSinceEpoch: 1))
        let first = try #require(firstResult)
        #expect(first.previous == nil && first.healthy && first.rounds == 1)
        let second = ledger.record(Self.key, results: Self.round(http: false, gue: true, at: 2), trigger: 2,
                                   at: WallTime(secondsSinceEpoch: 2))
        #expect(second == nil)
        let third = ledger.record(Self.key, results: Self.round(http: false, gue: true, at: 3), trigger: 2,
                                  at: WallTime(secondsSinceEpoch: 3))
        let down = try #require(third)
        #expect(down.previous == true && !down.healthy && down.rounds == 2)
        #expect(down.failures == "http://10.0.0.1:80/: HTTP 503 Service Unavailable, expected 200")
        let state = try #require(ledger.backends[Self.key])
        #expect(state.since == WallTime(secondsSinceEpoch: 3))
        #expect(state.transitions == 1)
        #expect(state.recent == [true, false, false])
        #expect(state.latest.map(\.target) == [Self.http, Self.gue])  // check order: http before gue
    }

    @Test("a missing result counts as failed; history is capped")
    func missing() throws {
        var ledger = HealthLedger()
        let recorded = ledger.record(Self.key, results: [:], trigger: 1, at: WallTime(secondsSinceEpoch: 0))
        let t = try #require(recorded)
        #expect(!t.healthy)
        #expect(t.failures.contains("not checked this round"))
        for i in 0..<25 { _ = ledger.record(Self.key, results: Self.round(http: true, gue: true, at: Double(i)), trigger: 1, at: WallTime(secondsSinceEpoch: Double(i))) }
        #expect(ledger.backends[Self.key]?.recent.count == HealthLedger.historyLength)
    }

    @Test("backends no longer in the source are forgotten")
    func retain() {
        var ledger = HealthLedger()
        let other = BackendKey(address: Samples.ip("10.0.0.2"), checks: [])
        _ = ledger.record(Self.key, results: [:], trigger: 1, at: WallTime(secondsSinceEpoch: 0))
        _ = ledger.record(other, results: [:], trigger: 1, at: WallTime(secondsSinceEpoch: 0))
        ledger.retain(only: [other])
        #expect(ledger.health(of: Self.key) == nil)
        #expect(ledger.health(of: other) == true)  // no checks: all of them passed
    }
}
