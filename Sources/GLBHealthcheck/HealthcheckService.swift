import GLBCore
import GLBLogging
import Logging

/// The health checker: runs rounds of checks, decides each backend's health, and keeps the
/// destination table (and through the reload command, the directors) in step with it.
///
/// One round probes every check target of the source at once, each within the timeout, then
/// feeds each backend's result (every check passed, or not) to its `Dampener`. After a round,
/// the destination is rendered; it is written, and the reload command run, only when it
/// differs from what was last written. The first round gives every backend its first result,
/// so the first write comes right after it; until then nothing is written.
///
/// Rounds do not wait for the reload command: while it runs (a slow compile, a hung
/// `systemctl`), checks go on and health is tracked; what changed meanwhile is written and
/// reloaded once, with the latest state, when the running command ends. Two reload commands
/// never run at once.
///
/// A new source (`reloadSource()`, on SIGHUP) is checked at once and used from the next round;
/// a broken one is reported and the last good source stays in use. Backends that keep their
/// address and checks keep their health.
public actor HealthcheckService {
    private let config: HealthcheckFile
    private let prober: any Prober
    private let publisher: any Publisher
    private let log: Logger
    private let now: @Sendable () -> WallTime
    private let clocks: ServiceClocks

    private var source: SourceTable
    private var pendingSource: SourceTable?
    private var ledger = HealthLedger()
    private var checkStats: [CheckTarget: CheckStats] = [:]
    private var counters = ServiceCounters()
    private var sourceError: String?
    private var rounds = 0
    private var lastRound: WallTime?
    private var lastWritten: [UInt8]?
    private var reloadPending = false
    private var reloadRunning = false
    /// `rounds` when the last reload command failed: it is retried after a later round.
    private var reloadFailedAfterRound: Int?
    private var writeFailures = FailureStreak()
    private var reloadFailures = FailureStreak()
    private let published: SnapshotBox

    private struct CheckStats {
        var latest: CheckRecord?
        var runs = 0
        var failures = 0
    }

    /// - Parameters:
    ///   - source: the source table, already loaded (the command refuses to start without one).
    ///   - now: wall-clock time for records and logs.
    ///   - clocks: what the pauses between rounds and the checks' timeouts are measured on.
    public init(config: HealthcheckFile, source: SourceTable, prober: any Prober, publisher: any Publisher,
                log: Logger, now: @escaping @Sendable () -> WallTime = WallTime.now, clocks: ServiceClocks = .system) {
        self.config = config
        self.clocks = clocks
        self.source = source
        self.prober = prober
        self.publisher = publisher
        self.log = log
        self.now = now
        var counters = ServiceCounters()
        counters.sourceLoads = 1
        self.counters = counters
        published = SnapshotBox(Self.buildSnapshot(config: config, source: source, ledger: HealthLedger(), checkStats: [:],
                                                   counters: counters, rounds: 0, lastRound: nil, sourceError: nil,
                                                   reloadPending: false, reloadRunning: false))
    }

    /// The latest view; safe to call from any thread (the metrics endpoint does).
    public nonisolated var snapshot: StatusSnapshot { published.value }

    /// Runs rounds until the task is cancelled: a round, then a pause until `interval` after
    /// the round's start. Beside them, the destination is published after each round when it
    /// changed; a reload command that takes long holds back only the next publication.
    public func run() async {
        log.info("checking backends", [
            ("source", config.source), ("destination", config.destination),
            ("targets", String(source.targets.count)), ("interval", source.settings.interval.humanReadable),
            ("timeout", source.settings.timeout.humanReadable), ("trigger", String(source.settings.trigger)),
        ])
        // Each round asks for a publication. Asks made while one is in progress fold into one
        // (the stream keeps only the newest), which renders the state of when it starts: at
        // most one publication waits behind a running reload command, and it has the latest
        // health.
        let (requests, requester) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.publish(on: requests) }
            await runRounds(pacedBy: clocks.pacing) { requester.yield() }
            requester.finish()
        }
    }

    private func runRounds<C: Clock<Duration>>(pacedBy clock: C, afterEach roundEnded: () -> Void) async {
        while !Task.isCancelled {
            let start = clock.now
            await runRound()
            if Task.isCancelled { break }
            roundEnded()
            do {
                try await clock.sleep(until: start.advanced(by: source.settings.interval), tolerance: nil)
            } catch {
                break
            }
        }
    }

    /// Publishes once per request, one at a time. A stop starts no new publication (a reload
    /// command already running is waited for: the publisher bounds it).
    private func publish(on requests: AsyncStream<Void>) async {
        for await _ in requests {
            if Task.isCancelled { break }
            await publishIfNeeded()
        }
    }

    /// Runs one round of checks and records the results (writes nothing).
    public func runRound() async {
        if let next = pendingSource {
            apply(next)
            pendingSource = nil
        }
        let round = source
        let settings = round.settings
        let outcomes = await RoundProbes.run(round.targets, prober: prober, timeout: settings.timeout,
                                             clock: clocks.timeouts)
        // A round cut short by a stop says nothing about the backends: its probes were cancelled.
        guard !Task.isCancelled else { return }
        let finished = now()

        var results: [CheckTarget: CheckRecord] = [:]
        for (target, outcome) in outcomes {
            let record = CheckRecord(target: target, outcome: outcome, at: finished)
            results[target] = record
            var stats = checkStats[target] ?? CheckStats()
            stats.latest = record
            stats.runs += 1
            if !outcome.passed { stats.failures += 1 }
            checkStats[target] = stats
            if outcome.passed {
                log.debug("check passed", [("check", "\(target)"), ("duration", outcome.duration.humanReadable)])
            } else {
                log.debug("check failed", [("check", "\(target)"), ("duration", outcome.duration.humanReadable),
                                           ("error", outcome.failure ?? "")])
            }
        }
        for key in round.keys {
            if let transition = ledger.record(key, results: results, trigger: settings.trigger, at: finished) {
                report(transition, tables: round.tableLabels(of: key))
            }
        }
        rounds += 1
        lastRound = finished
        published.value = makeSnapshot()
    }

    /// Reads the source again (SIGHUP). A good source is used from the next round; a broken
    /// one is reported and the last good source stays.
    public func reloadSource() {
        log.info("reading the source table", [("file", config.source)])
        do {
            let loaded = try SourceTable.load(path: config.source)
            let next = loaded.config
            counters.sourceLoads += 1
            sourceError = nil
            for warning in loaded.warnings { log.warning("source table: \(warning.description)") }
            pendingSource = next
            log.info("source table read; in use from the next round", [
                ("file", config.source), ("tables", String(next.tables.count)), ("targets", String(next.targets.count)),
            ])
        } catch {
            counters.sourceLoadFailures += 1
            sourceError = error.errors.map(\.description).joined(separator: "; ")
            for issue in error.errors { log.error("source table: \(issue.description)") }
            log.error("cannot use the source table; keeping the last good one", [("file", config.source)])
        }
        published.value = makeSnapshot()
    }

    /// Writes the destination when it differs from the last write, then runs the reload
    /// command; a failed write or reload is retried after the next round. A failure is logged
    /// when it starts or its error changes, and the recovery once; repeats are only counted.
    /// `run()` calls it one call at a time, after every round; a call made while a reload
    /// command runs returns at once.
    public func publishIfNeeded() async {
        guard !reloadRunning else { return }
        let current = source
        guard rounds > 0, current.keys.allSatisfy({ ledger.health(of: $0) != nil }) else { return }
        let bytes = DestinationTable.bytes(current.destination { ledger.health(of: $0) })
        if bytes != lastWritten {
            guard write(bytes) else { return }
        } else if reloadFailedAfterRound == rounds {
            // The reload failed after the latest round (which ended while it ran): nothing new
            // to load, so the retry waits for the next round, as it would without the overlap.
            return
        }
        guard reloadPending else { return }
        guard let command = config.reloadCommand else {
            reloadPending = false
            log.info("no reload_command configured: nothing to reload")
            published.value = makeSnapshot()
            return
        }
        counters.reloads += 1
        reloadRunning = true
        published.value = makeSnapshot()
        // Rounds go on meanwhile (see run()): `rounds`, the ledger and the source may change.
        let outcome = await publisher.reload(command)
        reloadRunning = false
        if outcome.succeeded {
            reloadPending = false
            reloadFailedAfterRound = nil
            let failures = reloadFailures.succeeded()
            log.info("reload command succeeded", [("command", command), ("duration", outcome.duration.humanReadable)])
            if failures > 0 {
                log.info("reload command succeeded again after failures", [("command", command), ("failures", String(failures))])
            }
        } else {
            counters.reloadFailures += 1
            reloadFailedAfterRound = rounds
            if reloadFailures.failed(outcome.detail) {
                log.error("reload command failed; retrying after the next round",
                          [("command", command), ("error", outcome.detail)])
            }
        }
        published.value = makeSnapshot()
    }

    // MARK: - Internals

    /// Writes the destination; false (logged, counted) when it failed.
    private func write(_ bytes: [UInt8]) -> Bool {
        do {
            try publisher.write(bytes, to: config.destination)
        } catch {
            counters.writeFailures += 1
            if writeFailures.failed("\(error)") {
                log.error("cannot write the destination table; retrying after the next round",
                          [("file", config.destination), ("error", "\(error)")])
            }
            published.value = makeSnapshot()
            return false
        }
        counters.writes += 1
        lastWritten = bytes
        reloadPending = true
        reloadFailedAfterRound = nil
        let snapshot = makeSnapshot()
        log.info("destination table written", [
            ("file", config.destination),
            ("unhealthy_backends", String(snapshot.unhealthyCount)),
        ])
        let failures = writeFailures.succeeded()
        if failures > 0 {
            log.info("destination table written again after failures", [("file", config.destination), ("failures", String(failures))])
        }
        return true
    }

    private func apply(_ next: SourceTable) {
        if next.settings != source.settings {
            log.info("check settings changed", [
                ("interval", next.settings.interval.humanReadable), ("timeout", next.settings.timeout.humanReadable),
                ("trigger", String(next.settings.trigger)),
            ])
        }
        source = next
        ledger.retain(only: Set(next.keys))
        let targets = Set(next.targets)
        checkStats = checkStats.filter { targets.contains($0.key) }
    }

    private func report(_ t: HealthTransition, tables: [String]) {
        var fields: [(String, String)] = [("backend", "\(t.key.address)"), ("tables", tables.joined(separator: ","))]
        let checks = t.key.checks.map(\.description).joined(separator: ", ")
        if t.previous == nil {
            fields.append(("first_result", "true"))
        } else {
            fields.append(("rounds", String(t.rounds)))
        }
        if t.healthy {
            fields.append(("passed", checks))
            log.info("backend healthy", fields)
        } else {
            fields.append(("failed", t.failures))
            log.warning("backend unhealthy", fields)
        }
    }

    private func makeSnapshot() -> StatusSnapshot {
        Self.buildSnapshot(config: config, source: source, ledger: ledger, checkStats: checkStats, counters: counters,
                           rounds: rounds, lastRound: lastRound, sourceError: sourceError, reloadPending: reloadPending,
                           reloadRunning: reloadRunning)
    }

    private static func buildSnapshot(config: HealthcheckFile, source: SourceTable, ledger: HealthLedger,
                                      checkStats: [CheckTarget: CheckStats], counters: ServiceCounters, rounds: Int,
                                      lastRound: WallTime?, sourceError: String?, reloadPending: Bool,
                                      reloadRunning: Bool) -> StatusSnapshot {
        var s = StatusSnapshot(source: config.source, destination: config.destination, settings: source.settings)
        s.rounds = rounds
        s.lastRound = lastRound
        s.counters = counters
        s.sourceError = sourceError
        s.reloadPending = reloadPending
        s.reloadRunning = reloadRunning
        s.tables = source.tables.map { table in
            StatusSnapshot.TableView(index: table.index, name: table.name, backends: table.backends.map { backend in
                StatusSnapshot.BackendView(address: backend.address, state: backend.state, checked: backend.isChecked,
                                           health: backend.key.flatMap { ledger.backends[$0] })
            })
        }
        s.checks = source.targets.map { target in
            let stats = checkStats[target]
            return StatusSnapshot.CheckView(target: target, latest: stats?.latest, runs: stats?.runs ?? 0,
                                            failures: stats?.failures ?? 0)
        }
        return s
    }
}

/// The clocks the service waits on: the pauses between rounds and the checks' timeouts. Both
/// are the system's continuous clock in production; tests give clocks of their own, so that no
/// outcome depends on how busy the machine is.
public struct ServiceClocks: Sendable {
    public var pacing: any Clock<Duration>
    public var timeouts: any Clock<Duration>

    public init(pacing: any Clock<Duration>, timeouts: any Clock<Duration>) {
        self.pacing = pacing
        self.timeouts = timeouts
    }

    public static let system = ServiceClocks(pacing: ContinuousClock(), timeouts: ContinuousClock())
}
