import Foundation
import GLBCore
import GLBLogging
import Logging
import Synchronization
import Testing
@testable import GLBHealthcheck

@Suite("Health check service")
struct HealthcheckServiceTests {
    static func backend(_ ip: String) -> String {
        #"{"ip": "\#(ip)", "state": "active", "healthchecks": {"http": 80}}"#
    }

    static func sourceText(_ ips: [String] = ["10.0.0.1", "10.0.0.2"], trigger: Int = 3) -> String {
        Samples.source(healthchecks: #"{"interval_ms": 10, "timeout_ms": 1000, "trigger": \#(trigger)}"#,
                       tables: [Samples.table(backends: ips.map(backend))])
    }

    struct Harness {
        let service: HealthcheckService
        let prober = ScriptedProber()
        let publisher: RecordingPublisher
        let lines: Lines
        let folder = TemporaryFolder()

        /// Timeouts never fire unless `timeouts` says otherwise, and rounds follow each other at
        /// once: nothing depends on how busy the machine is.
        init(source: String = HealthcheckServiceTests.sourceText(), reloadCommand: String? = "reload-it",
             prober custom: (any Prober)? = nil, publisher: RecordingPublisher = RecordingPublisher(),
             pacing: any Clock<Duration> = SteppingClock(parkAfter: .max),
             timeouts: any Clock<Duration> = SteppingClock(parkAfter: 0)) throws {
            self.publisher = publisher
            let lines = Lines()
            self.lines = lines
            try folder.write("src.json", source)
            let config = HealthcheckFile(source: folder.file("src.json"), destination: folder.file("dst.json"),
                                         reloadCommand: reloadCommand)
            let table = try SourceTable.load(path: config.source).config
            service = HealthcheckService(config: config, source: table, prober: custom ?? prober, publisher: publisher,
                                         log: Logger(label: "test") { _ in GLBLogHandler(format: .logfmt, level: .debug, output: .lines(lines.append)) },
                                         clocks: ServiceClocks(pacing: pacing, timeouts: timeouts))
        }

        /// One round and what follows it, as `run()` does.
        func round() async {
            await service.runRound()
            await service.publishIfNeeded()
        }

        func rounds(_ n: Int) async {
            for _ in 0..<n { await round() }
        }

        func logged(_ message: String) -> [String] {
            lines.all.filter { $0.contains("msg=\"\(message)\"") }
        }
    }

    @Test("nothing is written before the first round; after it, once, with every backend's health")
    func firstRound() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        h.prober.fail("10.0.0.2")
        await h.service.publishIfNeeded()
        #expect(h.publisher.writes.isEmpty)

        await h.round()
        #expect(h.publisher.writes.count == 1)
        #expect(h.publisher.writes[0].path == h.folder.file("dst.json"))
        #expect(try h.publisher.lastHealth() == [true, false])
        #expect(h.publisher.reloads == ["reload-it"])
        #expect(h.logged("backend unhealthy").first?.contains("first_result=true") == true)

        await h.rounds(5)
        #expect(h.publisher.writes.count == 1, "nothing changed, so nothing is written")
        #expect(h.publisher.reloads.count == 1)
        #expect(h.prober.calls == 12)
    }

    @Test("a backend turns unhealthy after `trigger` failed rounds, and healthy after `trigger` good ones")
    func dampened() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        await h.round()
        #expect(try h.publisher.lastHealth() == [true, true])

        h.prober.fail("10.0.0.1", "Connection refused")
        await h.rounds(2)
        #expect(h.publisher.writes.count == 1)
        #expect(h.service.snapshot.tables[0].backends[0].health?.dampener.disagreeing == 2)
        await h.round()
        #expect(h.publisher.writes.count == 2)
        #expect(try h.publisher.lastHealth() == [false, true])
        #expect(h.publisher.reloads.count == 2)
        let line = try #require(h.logged("backend unhealthy").last)
        #expect(line.contains("backend=10.0.0.1"))
        #expect(line.contains("rounds=3"))
        #expect(line.contains(#"failed="http://10.0.0.1:80/: Connection refused""#))

        h.prober.pass("10.0.0.1")
        await h.rounds(2)
        #expect(h.publisher.writes.count == 2)
        await h.round()
        #expect(h.publisher.writes.count == 3)
        #expect(try h.publisher.lastHealth() == [true, true])
        #expect(h.logged("backend healthy").last?.contains("rounds=3") == true)
        #expect(h.service.snapshot.tables[0].backends[0].health?.transitions == 2)
    }

    @Test("flapping shorter than the trigger changes nothing")
    func flapping() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        await h.round()
        for _ in 0..<5 {
            h.prober.fail("10.0.0.2")
            await h.rounds(2)
            h.prober.pass("10.0.0.2")
            await h.round()
        }
        #expect(h.publisher.writes.count == 1)
        #expect(h.logged("backend unhealthy").isEmpty)
    }

    @Test("a failed reload is retried after each round until it succeeds, without rewriting the file; logged once, and its recovery once")
    func reloadRetry() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        h.publisher.setFailures(reloads: true)
        await h.rounds(3)
        #expect(h.publisher.writes.count == 1)
        #expect(h.publisher.reloads.count == 3)
        #expect(h.service.snapshot.reloadPending)
        #expect(h.service.snapshot.counters.reloadFailures == 3)
        let failed = h.logged("reload command failed; retrying after the next round")
        #expect(failed.count == 1, "repeats of the same failure are counted, not logged")
        #expect(failed.first?.contains("no such unit") == true)
        #expect(failed.first?.contains("level=error") == true)
        h.publisher.setFailures()
        await h.rounds(3)
        #expect(h.publisher.reloads.count == 4)
        #expect(!h.service.snapshot.reloadPending)
        #expect(h.service.snapshot.counters.reloadFailures == 3)
        #expect(h.logged("reload command failed; retrying after the next round").count == 1)
        let recovered = h.logged("reload command succeeded again after failures")
        #expect(recovered.count == 1)
        #expect(recovered.first?.contains("failures=3") == true)
        #expect(h.logged("reload command succeeded").count == 1)

        // A later run of failures is a new change of state: logged again, once.
        h.publisher.setFailures(reloads: true)
        h.prober.fail("10.0.0.1")
        await h.rounds(5)
        #expect(h.publisher.reloads.count == 7)
        #expect(h.logged("reload command failed; retrying after the next round").count == 2)
    }

    @Test("a reload failure whose error changes is logged again")
    func reloadErrorChanges() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        h.publisher.setFailures(reloads: true)
        await h.rounds(2)
        h.publisher.setReloadError("killed after 1 s (--reload-timeout)")
        await h.rounds(2)
        let failed = h.logged("reload command failed; retrying after the next round")
        #expect(failed.count == 2)
        #expect(failed.last?.contains("--reload-timeout") == true)
        #expect(h.service.snapshot.counters.reloadFailures == 4)
        h.publisher.setFailures()
        await h.round()
        #expect(h.logged("reload command succeeded again after failures").first?.contains("failures=4") == true)
    }

    @Test("a failed write is retried; the reload runs only after a successful write; logged once, and its recovery once")
    func writeRetry() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        h.publisher.setFailures(writes: true)
        await h.rounds(4)
        #expect(h.publisher.writes.isEmpty)
        #expect(h.publisher.reloads.isEmpty)
        #expect(h.service.snapshot.counters.writeFailures == 4)
        let failed = h.logged("cannot write the destination table; retrying after the next round")
        #expect(failed.count == 1, "repeats of the same failure are counted, not logged")
        #expect(failed.first?.contains("error=\"disk full\"") == true)
        h.publisher.setFailures()
        await h.round()
        #expect(h.publisher.writes.count == 1)
        #expect(h.publisher.reloads.count == 1)
        let recovered = h.logged("destination table written again after failures")
        #expect(recovered.count == 1)
        #expect(recovered.first?.contains("failures=4") == true)
        await h.rounds(2)
        #expect(h.logged("destination table written again after failures").count == 1)
    }

    @Test("without reload_command the destination is still written")
    func noReloadCommand() async throws {
        let h = try Harness(reloadCommand: nil)
        defer { h.folder.remove() }
        await h.rounds(2)
        #expect(h.publisher.writes.count == 1)
        #expect(h.publisher.reloads.isEmpty)
        #expect(h.logged("no reload_command configured: nothing to reload").count == 1)
    }

    @Test("a broken source is reported and the last good one stays; a fixed one is used from the next round")
    func sourceReload() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        await h.round()
        h.prober.fail("10.0.0.2")

        try h.folder.write("src.json", #"{"tables": [ {"name": "web", "#)
        await h.service.reloadSource()
        #expect(h.service.snapshot.sourceError?.contains("invalid JSON at line 1") == true)
        #expect(h.service.snapshot.counters.sourceLoadFailures == 1)
        #expect(h.logged("cannot use the source table; keeping the last good one").count == 1)
        await h.rounds(3)
        #expect(h.publisher.writes.count == 2, "health still follows the checks with the last good source")
        #expect(try h.publisher.lastHealth() == [true, false])

        try h.folder.write("src.json", Self.sourceText().replacingOccurrences(of: "\"port\": 80", with: "\"port\": \"80\""))
        await h.service.reloadSource()
        #expect(h.service.snapshot.sourceError?.contains("binds[0].port: expected an integer port") == true)
        await h.round()
        #expect(h.publisher.writes.count == 2)

        try h.folder.write("src.json", Self.sourceText(["10.0.0.1", "10.0.0.2", "10.0.0.3"]))
        await h.service.reloadSource()
        #expect(h.service.snapshot.sourceError == nil)
        #expect(h.publisher.writes.count == 2, "a new source is used from the next round")
        await h.round()
        #expect(h.publisher.writes.count == 3)
        #expect(try h.publisher.lastHealth() == [true, false, true], "kept backends keep their health; the new one has its first result")
        await h.round()
        #expect(h.publisher.writes.count == 3)
        #expect(h.service.snapshot.counters.sourceLoads == 2)
    }

    @Test("a source change that does not change the destination writes nothing")
    func sameDestination() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        await h.round()
        try h.folder.write("src.json", Self.sourceText().replacingOccurrences(of: "\n", with: "\n\n"))
        await h.service.reloadSource()
        await h.rounds(2)
        #expect(h.publisher.writes.count == 1)
    }

    @Test("a check that overruns its timeout is abandoned and fails")
    func overrun() async throws {
        let source = Samples.source(healthchecks: #"{"timeout_ms": 20}"#, tables: [Samples.table(backends: [Self.backend("10.0.0.1")])])
        let h = try Harness(source: source, prober: HangingProber(), timeouts: SteppingClock(parkAfter: .max))
        defer { h.folder.remove() }
        await h.round()
        let check = try #require(h.service.snapshot.checks.first?.latest)
        #expect(!check.outcome.passed)
        #expect(check.outcome.failure == "no result within the 20 ms timeout")
        #expect(try h.publisher.lastHealth() == [false])
    }

    @Test("a round runs its checks concurrently")
    func concurrent() async throws {
        let ips = (1...6).map { "10.0.0.\($0)" }
        let barrier = BarrierProber(parties: ips.count)
        let source = Samples.source(healthchecks: #"{"timeout_ms": 30000}"#, tables: [Samples.table(backends: ips.map(Self.backend))])
        let h = try Harness(source: source, prober: barrier)
        defer { h.folder.remove() }
        await h.round()
        // Each check passes only once all six are in flight together.
        #expect(try h.publisher.lastHealth() == Array(repeating: true, count: 6))
    }

    @Test("run() keeps running rounds, each `interval` after the last one's start, until cancelled")
    func runLoop() async throws {
        let clock = SteppingClock(parkAfter: 5)
        let h = try Harness(pacing: clock)
        defer { h.folder.remove() }
        let task = Task { await h.service.run() }
        await clock.parked()
        #expect(h.service.snapshot.rounds == 6, "a round before each pause, and one before the held one")
        // The destination is published beside the rounds: the first round's publication.
        await h.publisher.reloadsEnded.reached(1)
        task.cancel()
        await task.value
        #expect(h.service.snapshot.rounds == 6, "a cancelled pause starts no further round")
        #expect(h.publisher.writes.count == 1)
        // The source's interval is 10 ms: every pause ends 10 ms after the round's start.
        #expect(clock.deadlines == (1...6).map { .milliseconds(10 * $0) })
    }

    // The time limit only turns a deadlock into a failure: where rounds wait for the reload
    // command, the held reload below holds everything, and the test would never end.
    @Test("checks go on while the reload command runs; what changed meanwhile is written and reloaded once, after it",
          .timeLimit(.minutes(1)))
    func checksDuringReload() async throws {
        let publisher = RecordingPublisher()
        publisher.holdReloads()
        // Round 1: both healthy. 10.0.0.1 fails from round 2, 10.0.0.2 from round 3, both while
        // the first reload runs (round 2 starts only once it has started).
        let prober = RoundScriptProber(targetsPerRound: 2, failing: { round in
            round >= 3 ? ["10.0.0.1", "10.0.0.2"] : round == 2 ? ["10.0.0.1"] : []
        }, beforeRound: { round in
            if round == 2 { await publisher.reloadsStarted.reached(1) }
        })
        let clock = SteppingClock(parkAfter: 5)
        let h = try Harness(source: Self.sourceText(trigger: 1), prober: prober, publisher: publisher, pacing: clock)
        defer { h.folder.remove() }
        let task = Task { await h.service.run() }

        await clock.parked()
        // Six rounds ran while the first reload was held.
        var snapshot = h.service.snapshot
        #expect(snapshot.rounds == 6)
        #expect(snapshot.checks.map(\.runs) == [6, 6])
        #expect(snapshot.unhealthyCount == 2, "health follows the checks during the reload")
        #expect(snapshot.reloadRunning)
        #expect(snapshot.reloadPending)
        #expect(h.logged("backend unhealthy").count == 2)
        #expect(h.publisher.reloads.count == 1)
        #expect(h.publisher.writes.count == 1, "nothing is written while the reload command runs")
        #expect(try h.publisher.lastHealth() == [true, true])

        publisher.release()
        await publisher.reloadsEnded.reached(2)
        // One more write and reload, with the latest state; the state between (only 10.0.0.1
        // unhealthy) was never written.
        #expect(h.publisher.writes.count == 2)
        #expect(try h.publisher.lastHealth() == [false, false])
        #expect(h.publisher.reloads.count == 2)
        #expect(h.publisher.mostRunning == 1, "never two reload commands at once")

        task.cancel()
        await task.value
        snapshot = h.service.snapshot
        #expect(!snapshot.reloadRunning)
        #expect(!snapshot.reloadPending)
        #expect(snapshot.counters.reloads == 2)
        #expect(h.publisher.writes.count == 2)
    }

    @Test("a reload that fails after rounds ran meanwhile is retried after the next round, not at once")
    func failedReloadWaitsForTheNextRound() async throws {
        let h = try Harness()
        defer { h.folder.remove() }
        h.publisher.holdReloads()
        h.publisher.setFailures(reloads: true)
        await h.service.runRound()
        let publishing = Task { await h.service.publishIfNeeded() }
        await h.publisher.reloadsStarted.reached(1)
        // Rounds while the reload runs, as run() has them.
        await h.service.runRound()
        await h.service.runRound()
        h.publisher.release()
        await publishing.value
        #expect(h.service.snapshot.counters.reloadFailures == 1)

        // The publication those rounds asked for: nothing new to write, and no round since the
        // failure, so no retry yet.
        await h.service.publishIfNeeded()
        #expect(h.publisher.reloads.count == 1)
        #expect(h.service.snapshot.reloadPending)
        await h.round()
        #expect(h.publisher.reloads.count == 2)
    }
}

/// A clock that moves only when it is slept on: each sleep jumps to its deadline at once, so a
/// loop paced by it runs as fast as the machine lets it and never depends on wall time. The
/// sleeps after the first `parkAfter` hold their caller until it is cancelled (with 0, a
/// timeout measured on this clock never fires).
final class SteppingClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private struct State {
        var now = Instant(offset: .zero)
        var deadlines: [Duration] = []
        var parked: CheckedContinuation<Void, Never>?
        var isParked = false
    }
    private let parkAfter: Int
    private let state = Mutex(State())

    init(parkAfter: Int) {
        self.parkAfter = parkAfter
    }

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }
    /// The deadline of every sleep so far, as offsets from the clock's start.
    var deadlines: [Duration] { state.withLock { $0.deadlines } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let park = state.withLock { s -> Bool in
            s.deadlines.append(deadline.offset)
            if s.deadlines.count <= parkAfter {
                s.now = max(s.now, deadline)
                return false
            }
            return true
        }
        guard park else { return }
        state.withLock { s in
            s.isParked = true
            s.parked?.resume()
            s.parked = nil
        }
        while true {
            try await Task.sleep(for: .seconds(3600))
        }
    }

    /// Returns once a sleep is being held, or when the waiting task is cancelled (a test's
    /// time limit), so that a loop that never pauses fails the test instead of hanging it.
    func parked() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLock { s in
                    if s.isParked || Task.isCancelled { continuation.resume() } else { s.parked = continuation }
                }
            }
        } onCancel: {
            state.withLock { s in
                s.parked?.resume()
                s.parked = nil
            }
        }
    }
}

/// Never answers by itself; gives up only when cancelled.
struct HangingProber: Prober {
    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome {
        try? await Task.sleep(for: .seconds(3600))
        return .failed("cancelled", after: .zero)
    }
}

/// Passes a check only when `parties` checks are in flight at the same time.
final class BarrierProber: Prober {
    private let parties: Int
    private let arrived = Mutex(0)

    init(parties: Int) {
        self.parties = parties
    }

    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome {
        arrived.withLock { $0 += 1 }
        while arrived.withLock({ $0 }) < parties {
            do {
                try await Task.sleep(for: .milliseconds(1))
            } catch {
                return .failed("only \(arrived.withLock { $0 }) checks ran at once", after: .zero)
            }
        }
        return .passed(after: .zero)
    }
}
