import GLBAnnounce
import GLBCore
import GLBHTTP
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

struct AnnouncerSettings: Sendable {
    var tablePath: String
    var readyURL: HTTPURL
    var healthcheckURL: HTTPURL?
    var includes: (ipv4: String, ipv6: String)
    var bird: Bird
    var pollInterval: Duration
    var readyTimeout: Duration
    var policy: AnnouncePolicy
}

/// The announcer's loop, on the main thread: poll the director, decide, bring the interface
/// up or down; every second also look at the table file, the health checker and BIRD.
final class Announcer {
    let settings: AnnouncerSettings
    let status = AnnouncerStatus()
    private let interface: TunInterface
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    init(settings: AnnouncerSettings, interface: TunInterface) throws(AnnounceError) {
        self.settings = settings
        self.interface = interface
        decider = AnnounceDecider(policy: settings.policy)
        // Withdrawn until the director has been seen ready.
        try interface.setUp(false)
    }

    private var decider: AnnounceDecider
    private var tableStamp: FileStamp?
    private var routes = VIPRoutes()

    func run() {
        log.info("announcing the VIPs of \(settings.tablePath) through \(interface.name) while \(settings.readyURL) answers ready", metadata: [
            "include_ipv4": "\(settings.includes.ipv4)", "include_ipv6": "\(settings.includes.ipv6)",
            "bird_socket": "\(settings.bird.socket)", "rise": "\(settings.policy.rise)", "fall": "\(settings.policy.fall)",
        ])
        var lastSlowCheck: UInt64 = 0
        while !stopRequested.load(ordering: .relaxed) {
            let started = Self.now()
            if started &- lastSlowCheck >= 1_000_000_000 || lastSlowCheck == 0 {
                lastSlowCheck = started
                refreshTable()
                pollHealthcheck()
                status.update { $0.birdUp = settings.bird.isUp() }
            }
            let director = pollDirector()
            let decision = decider.decide(director, vipCount: routes.count, at: Self.now())
            apply(decision, director: director)
            let elapsed = Self.now() &- started
            let interval = settings.pollInterval.nanoseconds
            if elapsed < interval { usleep(useconds_t((interval - elapsed) / 1000)) }
        }
        log.info("stopping: withdrawing the VIPs")
        try? interface.setUp(false)
        try? group.syncShutdownGracefully()
        log.info("stopped")
    }

    private func pollDirector() -> DirectorObservation {
        do {
            let reply = try HTTPFetch.getWaiting(settings.readyURL, timeout: settings.readyTimeout, group: group)
            switch reply.status {
            case 200: return .ready
            case 503:
                let why = reply.body.split(separator: "\n").map { $0.hasPrefix("not ready: ") ? String($0.dropFirst(11)) : String($0) }
                return .notReady(why.joined(separator: "; "))
            default: return .unreachable("HTTP \(reply.status) from \(settings.readyURL)")
            }
        } catch {
            return .unreachable("\(error)")
        }
    }

    private func pollHealthcheck() {
        guard let url = settings.healthcheckURL else { return }
        let observation: HealthcheckObservation
        do {
            let reply = try HTTPFetch.getWaiting(url, timeout: .seconds(1), group: group)
            if reply.status == 200, let pending = prometheusSample("glb_healthcheck_reload_pending", in: reply.body) {
                observation = .reloadPending(pending != 0)
            } else {
                observation = .unreachable("HTTP \(reply.status) without glb_healthcheck_reload_pending")
            }
        } catch {
            observation = .unreachable("\(error)")
        }
        decider.observe(observation, at: Self.now())
        status.update { $0.healthcheck = observation }
    }

    /// Re-reads the table when its file changed; writes the include files and reconfigures
    /// BIRD when the VIPs changed. A table that cannot be read keeps the VIPs of the last one.
    private func refreshTable() {
        let stamp = FileStamp(path: settings.tablePath)
        guard stamp != tableStamp else { return }
        tableStamp = stamp
        let table: CompiledForwardingTable
        do {
            table = try BinaryTableFormat.read(path: settings.tablePath)
        } catch {
            log.error("cannot read the forwarding table; keeping the VIPs of the last one", metadata: ["error": "\(error)"])
            status.update { $0.tableErrors += 1 }
            return
        }
        let next = VIPRoutes(table: table)
        guard next != routes || status.snapshot.configures == 0 else { return }
        do {
            try FileIO.writeAtomically(path: settings.includes.ipv4, bytes: Array(BirdInclude.render(next.ipv4, interface: interface.name).utf8), mode: 0o644)
            try FileIO.writeAtomically(path: settings.includes.ipv6, bytes: Array(BirdInclude.render(next.ipv6, interface: interface.name).utf8), mode: 0o644)
        } catch {
            log.error("cannot write the BIRD include files", metadata: ["error": "\(error)"])
            status.update { $0.configureFailures += 1 }
            return
        }
        routes = next
        let reply = settings.bird.configure()
        status.update {
            $0.routes = next
            if reply.succeeded { $0.configures += 1 } else { $0.configureFailures += 1 }
        }
        if reply.succeeded {
            log.info("VIPs written and BIRD reconfigured", metadata: [
                "ipv4": "\(next.ipv4.joined(separator: ","))", "ipv6": "\(next.ipv6.joined(separator: ","))",
            ])
        } else {
            // BIRD reads the files when it starts, so a BIRD that is down picks them up then.
            log.error("birdc configure failed; BIRD uses the VIPs of the files when it next reads its configuration",
                      metadata: ["output": "\(reply.output)"])
        }
    }

    private func apply(_ decision: AnnounceDecision, director: DirectorObservation) {
        if decision.changed {
            do {
                try interface.setUp(decision.announce)
                if decision.announce {
                    log.info("announcing \(routes.count) VIP prefix(es): \(decision.reason)")
                } else {
                    log.warning("withdrawing the VIPs: \(decision.reason)")
                }
            } catch {
                log.error("\(error)")
            }
        }
        status.update {
            $0.announcing = decider.announcing
            $0.reason = decision.reason
            $0.directorReady = director == .ready
            $0.polls += 1
            if decision.changed {
                $0.transitions[decision.announce ? 0 : 1] += 1
                $0.lastChange = Self.wallClock()
            }
        }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A file's identity and modification time: a change means the table was replaced.
struct FileStamp: Equatable {
    var device: UInt64
    var inode: UInt64
    var modified: Int
    var modifiedNanoseconds: Int

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        modified = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        UInt64(components.seconds) * 1_000_000_000 + UInt64(components.attoseconds / 1_000_000_000)
    }
}
