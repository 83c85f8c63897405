import GLBBalance
import GLBCore
import GLBDaemon
import GLBHTTP
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One step every interval: read the source, the health and the load; decide per table;
/// write the output and run the reload command when something changed.
final class BalanceLoop {
    let config: BalanceConfig
    let dryRun: Bool
    let status = BalanceStatus()
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var balancers: [Int: TableBalancer] = [:]
    /// The weights in force, per table index, by address.
    private var weights: [Int: [String: Int]] = [:]
    /// The previous weights of the last change, per table, and when it was made: kept in the
    /// output for min_change_interval_s, across rewrites for source changes.
    private var previous: [Int: (weights: [String: Int], at: UInt64)] = [:]
    private var lastSource: [UInt8]?
    /// The source whose warnings were logged.
    private var warnedSource: [UInt8]?
    private var lastWritten: [UInt8]?
    /// An output was rendered (written, or in a dry run, described) since the start.
    private var rendered = false
    private var foreignWriter = false

    init(config: BalanceConfig, dryRun: Bool) {
        self.config = config
        self.dryRun = dryRun
        adoptOutput()
    }

    func shutdown() {
        try? group.syncShutdownGracefully()
    }

    /// The weights of an existing output (written by an earlier run) are the weights in force.
    private func adoptOutput() {
        guard let bytes = try? FileIO.read(path: config.output, limit: ForwardingTableConfig.sizeLimit),
              let table = try? ForwardingTableConfig.decode(bytes: bytes, file: config.output).config else { return }
        for (t, tableConfig) in table.tables.enumerated() {
            weights[t] = Dictionary(tableConfig.backends.compactMap { b in b.weight.map { (b.address.description, $0) } }) { a, _ in a }
        }
        lastWritten = bytes
        rendered = true
        log.info("weights in force taken from \(config.output)")
    }

    func step() {
        let now = DaemonClock.monotonicNanoseconds()
        // The source: read fresh each step.
        let sourceBytes: [UInt8]
        let sourceDocument: JSONValue
        let source: ForwardingTableConfig
        do {
            sourceBytes = try FileIO.read(path: config.source, limit: ForwardingTableConfig.sizeLimit)
            sourceDocument = try JSONValue.parse(sourceBytes)
            let loaded = try ForwardingTableConfig.decode(sourceDocument, file: config.source)
            source = loaded.config
            // Once per version of the file, not at every step.
            if sourceBytes != warnedSource {
                for warning in loaded.warnings { log.warning("source table: \(warning)") }
                warnedSource = sourceBytes
            }
        } catch {
            freezeAll("cannot use the source table \(config.source): \(error)")
            return
        }
        let sourceChanged = lastSource != nil && lastSource != sourceBytes
        if sourceChanged { for t in balancers.keys { balancers[t]?.sourceChanged(at: now) } }

        // Someone else wrote the output: two loops, or a hand edit. Never overwrite it.
        if let lastWritten, let current = try? FileIO.read(path: config.output, limit: ForwardingTableConfig.sizeLimit), current != lastWritten {
            if !foreignWriter {
                log.error("\(config.output) was changed by another writer: not acting until it is resolved (remove the file to start from the source)")
            }
            foreignWriter = true
            freezeAll("\(config.output) was changed by another writer")
            return
        }
        if foreignWriter {
            log.info("\(config.output) is ours again")
            foreignWriter = false
        }

        let health = readHealth()
        var changed = false
        for loop in config.tables {
            guard let t = index(of: loop.table, in: source) else {
                status.record(loop.table.description, .freeze("no such table in \(config.source)"), weights: [:])
                continue
            }
            let table = source.tables[t]
            var inForce = weights[t] ?? [:]
            for b in table.backends where b.state != .inactive && inForce[b.address.description] == nil {
                inForce[b.address.description] = b.weight ?? loop.law.initialWeight
            }
            weights[t] = inForce
            let backends = table.backends.filter { $0.state != .inactive }.map { b -> BalancedBackend in
                let address = b.address.description
                let healthy = health?[t]?[address] ?? b.healthy
                return BalancedBackend(address: address, eligible: b.state == .active && healthy, healthy: healthy, weight: inForce[address]!)
            }
            if balancers[t] == nil {
                balancers[t] = TableBalancer(parameters: loop.law, minIntervalSeconds: config.minChangeIntervalSeconds,
                                             limits: loop.limits.mapValues { ($0.minWeight, $0.maxWeight) })
            }
            let load = query(loop)
            let decision = balancers[t]!.step(backends, load: load, at: now)
            report(loop, decision, inForce)
            if decision.action == .change {
                previous[t] = (Dictionary(uniqueKeysWithValues: decision.changes.keys.map { ($0, inForce[$0]!) }), now)
                for (address, w) in decision.changes { inForce[address] = w }
                weights[t] = inForce
                changed = true
            }
            status.record(loop.table.description, decision, weights: inForce)
        }
        lastSource = sourceBytes
        // A transition is complete once its minimum interval has passed: previous_weight goes,
        // and each moved row gets its normal secondary back.
        let minInterval = UInt64(config.minChangeIntervalSeconds) * 1_000_000_000
        let settled = previous.filter { now &- $0.value.at > minInterval }.map(\.key)
        for t in settled { previous[t] = nil }
        let why = changed ? "weights changed" : sourceChanged ? "the source table changed"
            : !settled.isEmpty ? "a transition is complete (previous_weight removed)" : rendered ? nil : "first output"
        guard let why else { return }
        write(sourceDocument, why: why)
    }

    private func write(_ source: JSONValue, why: String) {
        let document = WeightedDocument.render(source, weights: weights, previous: previous.mapValues(\.weights))
        let bytes = Array((document.serialized() + "\n").utf8)
        rendered = true
        guard !dryRun else {
            log.info("dry run: would write \(config.output) (\(why)) and run the reload command")
            return
        }
        do {
            try FileIO.writeAtomically(path: config.output, bytes: bytes, mode: 0o644)
        } catch {
            log.error("cannot write \(config.output); trying again at the next step", metadata: ["error": "\(error)"])
            status.update { $0.writeFailures += 1 }
            return
        }
        lastWritten = bytes
        status.update { $0.writes += 1 }
        log.info("\(config.output) written: \(why)")
        guard let command = config.reloadCommand else { return }
        let result = TimedCommand.run(["/bin/sh", "-c", command], timeLimit: .seconds(60))
        if result.succeeded {
            log.info("reload command succeeded", metadata: ["command": "\(command)"])
        } else {
            status.update { $0.reloadFailures += 1 }
            log.error("reload command failed", metadata: ["command": "\(command)", "output": "\(result.output)"])
        }
    }

    private func report(_ loop: BalanceConfig.TableLoop, _ d: BalanceDecision, _ inForce: [String: Int]) {
        let load = d.utilization.sorted { $0.key < $1.key }.map { "\($0.key)=\(ControlLaw.format($0.value))" }.joined(separator: " ")
        switch d.action {
        case .change:
            let moves = d.changes.sorted { $0.key < $1.key }.map { "\($0.key) \(inForce[$0.key] ?? 0)->\($0.value)" }.joined(separator: ", ")
            log.info("\(loop.table): weights changed: \(moves): \(d.reason)", metadata: ["utilization": "\(load)"])
        case .hold:
            log.info("\(loop.table): holding: \(d.reason)", metadata: ["utilization": "\(load)"])
        case .wait:
            log.info("\(loop.table): waiting: \(d.reason)", metadata: ["utilization": "\(load)"])
        case .freeze:
            log.warning("\(loop.table): frozen: \(d.reason)")
        }
    }

    private func freezeAll(_ reason: String) {
        log.warning("frozen: \(reason)")
        for loop in config.tables {
            status.record(loop.table.description, .freeze(reason), weights: nil)
        }
    }

    private func index(of ref: BalanceConfig.TableRef, in source: ForwardingTableConfig) -> Int? {
        switch ref {
        case .index(let i): return i < source.tables.count ? i : nil
        case .name(let name): return source.tables.firstIndex { $0.name == name }
        }
    }

    /// Health from glb-healthcheck's checked table, per table index and address; nil without
    /// one (the source's `healthy` then counts).
    private func readHealth() -> [Int: [String: Bool]]? {
        guard let path = config.checkedTable else { return nil }
        guard let bytes = try? FileIO.read(path: path, limit: ForwardingTableConfig.sizeLimit),
              let checked = try? ForwardingTableConfig.decode(bytes: bytes, file: path).config else {
            log.warning("cannot read the checked table \(path); using the source's health")
            return nil
        }
        var out: [Int: [String: Bool]] = [:]
        for (t, table) in checked.tables.enumerated() {
            out[t] = Dictionary(table.backends.map { ($0.address.description, $0.healthy) }) { a, _ in a }
        }
        return out
    }

    private func query(_ loop: BalanceConfig.TableLoop) -> Result<[String: Double], LoadError> {
        guard let base = HTTPURL(config.prometheus + PrometheusQuery.path(for: loop.query)) else {
            return .failure(LoadError("cannot make a URL of \(config.prometheus)"))
        }
        do {
            let reply = try HTTPFetch.getWaiting(base, timeout: .milliseconds(config.queryTimeoutMilliseconds), group: group)
            let values = try PrometheusQuery.vector(Array(reply.body.utf8), label: loop.addressLabel)
            // Addresses as the table writes them.
            return .success(Dictionary(values.map { (IPAddress($0.key)?.description ?? $0.key, $0.value) }) { a, _ in a })
        } catch let error as LoadError {
            return .failure(error)
        } catch {
            return .failure(LoadError("Prometheus at \(config.prometheus): \(error)"))
        }
    }

}
