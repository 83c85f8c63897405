import GLBAnnounce
import GLBCore
import GLBHTTP
import GLBDaemon
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct AnnouncerSettings: Sendable {
    var tablePath: String
    var readyURL: HTTPURL
    var healthcheckURL: HTTPURL?
    var includes: (ipv4: String, ipv6: String)
    var bird: Bird
    var interface: String
    var pollInterval: Duration
    var readyTimeout: Duration
    var policy: AnnouncePolicy
}

/// The announcer's loop, on the main thread: poll the director, decide, bring the interface
/// up or down. What changes slowly (the table file, the health checker, BIRD) is looked at
/// once a second on a thread of its own (`Surroundings`), so that a slow health checker or a
/// stopped BIRD never delays a withdrawal.
final class Announcer {
    let settings: AnnouncerSettings
    let status = AnnouncerStatus()
    private let interface: TunInterface
    private let surroundings: Surroundings
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var decider: AnnounceDecider
    private var seenHealthcheck: UInt64 = 0

    init(settings: AnnouncerSettings, interface: TunInterface) throws(AnnounceError) {
        self.settings = settings
        self.interface = interface
        decider = AnnounceDecider(policy: settings.policy)
        surroundings = Surroundings(settings: settings, status: status)
        // Withdrawn until the director has been seen ready.
        try interface.setUp(false)
    }

    func run() {
        log.info("announcing the VIPs of \(settings.tablePath) through \(interface.name) while \(settings.readyURL) answers ready", metadata: [
            "include_ipv4": "\(settings.includes.ipv4)", "include_ipv6": "\(settings.includes.ipv6)",
            "bird_socket": "\(settings.bird.socket)", "rise": "\(settings.policy.rise)", "fall": "\(settings.policy.fall)",
        ])
        surroundings.start()
        SystemdNotify.send("READY=1\nSTATUS=polling the director")
        var lastWatchdog: UInt64 = 0
        while !StopSignal.requested {
            let started = DaemonClock.monotonicNanoseconds()
            let seen = surroundings.latest
            if let (observation, at) = seen.healthcheck, at != seenHealthcheck {
                seenHealthcheck = at
                decider.observe(observation, at: at)
            }
            let director = pollDirector()
            let decision = decider.decide(director, vipCount: seen.vipCount, at: DaemonClock.monotonicNanoseconds())
            apply(decision, director: director)
            // A hung loop stops these, and systemd (WatchdogSec) then ends the process, which
            // takes the interface and the VIPs with it.
            if started &- lastWatchdog >= 500_000_000 {
                SystemdNotify.send("WATCHDOG=1")
                lastWatchdog = started
            }
            let elapsed = DaemonClock.monotonicNanoseconds() &- started
            let interval = settings.pollInterval.nanoseconds
            if elapsed < interval { usleep(useconds_t((interval - elapsed) / 1000)) }
        }
        log.info("stopping: withdrawing the VIPs")
        SystemdNotify.send("STOPPING=1")
        try? interface.setUp(false)
        surroundings.stop()
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

    private func apply(_ decision: AnnounceDecision, director: DirectorObservation) {
        if decision.changed {
            do {
                try interface.setUp(decision.announce)
                if decision.announce {
                    log.info("announcing the VIPs: \(decision.reason)")
                } else {
                    log.warning("withdrawing the VIPs: \(decision.reason)")
                }
            } catch {
                log.error("\(error)")
            }
        } else {
            log.debug("\(decision.announce ? "announced" : "withdrawn"): \(decision.reason)")
        }
        status.update {
            $0.announcing = decider.announcing
            $0.reason = decision.reason
            $0.directorReady = director == .ready
            $0.polls += 1
            if decision.changed {
                $0.transitions[decision.announce ? 0 : 1] += 1
                $0.lastChange = DaemonClock.unixSeconds()
            }
        }
    }

}

/// Once a second, on a thread of its own: the table file (VIPs to the include files and
/// `birdc configure` when they change, again until BIRD takes them), the health checker's
/// pending reload, and whether BIRD answers.
final class Surroundings: @unchecked Sendable {
    struct Latest: Sendable {
        var vipCount = 0
        /// The last observation of the health checker and when it was made.
        var healthcheck: (HealthcheckObservation, UInt64)?
    }

    private let settings: AnnouncerSettings
    private let status: AnnouncerStatus
    private let shared = Mutex(Latest())
    private let finished = Atomic<Bool>(false)
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var thread = pthread_t()
    // Used by the thread only.
    private var tableStamp: FileStamp?
    private var routes = VIPRoutes()
    private var birdHasRoutes = false
    private var configureFailing = false

    init(settings: AnnouncerSettings, status: AnnouncerStatus) {
        self.settings = settings
        self.status = status
    }

    var latest: Latest { shared.withLock { $0 } }

    func start() {
        // The first look happens before the loop polls, so the VIPs are known at once.
        look()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let me = Unmanaged<Surroundings>.fromOpaque(argument!).takeRetainedValue()
            while !me.finished.load(ordering: .relaxed) {
                for _ in 0..<10 where !me.finished.load(ordering: .relaxed) { usleep(100_000) }
                if !me.finished.load(ordering: .relaxed) { me.look() }
            }
            return nil
        }, context)
        precondition(result == 0, "cannot start a thread: \(String(cString: strerror(result)))")
    }

    func stop() {
        finished.store(true, ordering: .relaxed)
        pthread_join(thread, nil)
        try? group.syncShutdownGracefully()
    }

    private func look() {
        refreshTable()
        pollHealthcheck()
        let up = settings.bird.isUp()
        status.update { $0.birdUp = up }
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
        let at = DaemonClock.monotonicNanoseconds()
        shared.withLock { $0.healthcheck = (observation, at) }
        status.update { $0.healthcheck = observation }
    }

    /// Re-reads the table when its file changed; writes the include files and reconfigures
    /// BIRD when the VIPs changed (or BIRD has not taken them yet). A table that cannot be
    /// read keeps the VIPs of the last one.
    private func refreshTable() {
        let stamp = FileStamp(path: settings.tablePath)
        if stamp != tableStamp {
            do {
                let next = VIPRoutes(table: try BinaryTableFormat.read(path: settings.tablePath))
                // Only a table that was read counts as seen: a failed read is tried again.
                tableStamp = stamp
                if next != routes {
                    routes = next
                    birdHasRoutes = false
                }
            } catch {
                log.error("cannot read the forwarding table; keeping the VIPs of the last one", metadata: ["error": "\(error)"])
                status.update { $0.tableErrors += 1 }
            }
        }
        guard !birdHasRoutes else { return }
        shared.withLock { $0.vipCount = routes.count }
        do {
            try FileIO.writeAtomically(path: settings.includes.ipv4, bytes: Array(BirdInclude.render(routes.ipv4, interface: settings.interface).utf8), mode: 0o644)
            try FileIO.writeAtomically(path: settings.includes.ipv6, bytes: Array(BirdInclude.render(routes.ipv6, interface: settings.interface).utf8), mode: 0o644)
        } catch {
            log.error("cannot write the BIRD include files; trying again in a second", metadata: ["error": "\(error)"])
            status.update { $0.routeUpdateFailures += 1 }
            return
        }
        let reply = settings.bird.configure()
        let written = routes
        status.update {
            $0.routes = written
            if reply.succeeded { $0.routeUpdates += 1 } else { $0.routeUpdateFailures += 1 }
        }
        if reply.succeeded {
            birdHasRoutes = true
            configureFailing = false
            log.info("VIPs written and BIRD reconfigured", metadata: [
                "ipv4": "\(written.ipv4.joined(separator: ","))", "ipv6": "\(written.ipv6.joined(separator: ","))",
            ])
        } else if !configureFailing {
            // Once per failure, not every second. BIRD also reads the files when it starts,
            // so a BIRD that is down picks them up then.
            configureFailing = true
            log.error("birdc configure failed; trying again every second", metadata: ["output": "\(reply.output)"])
        }
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
