import GLBCore
import GLBDaemon
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Decides readiness every 10 ms on a thread of its own, so that nothing the main loop does
/// (a reload that takes a while, a stop under way) delays or distorts the verdict. Besides
/// what `ReadinessTracker` watches, a main loop that has not run for `mainLoopLimit` (hung, or
/// stuck in a reload waiting for an lcore that never comes back) makes the director not ready.
/// Under systemd with WatchdogSec=, it also sends WATCHDOG=1, but only while every lcore's loop
/// counter moves (`LcoreWatchdog`): a director whose lcores hang is ended and restarted.
final class ReadinessMonitor: @unchecked Sendable {
    static let tickMicroseconds: useconds_t = 10_000
    static let mainLoopLimitNanoseconds: UInt64 = 5_000_000_000

    let state: ReadinessState
    private let runtime: DirectorRuntime
    private var tracker: ReadinessTracker
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let mainLoopBeat = Atomic<UInt64>(0)
    private var thread = pthread_t()

    init(runtime: DirectorRuntime, state: ReadinessState) {
        self.runtime = runtime
        self.state = state
        tracker = ReadinessTracker(lcores: runtime.plan.lcores.map(\.id), windowMilliseconds: runtime.config.readinessWindowMilliseconds)
        mainLoopBeat.store(DaemonClock.monotonicNanoseconds(), ordering: .relaxed)
    }

    /// Starts the thread; once the lcores run.
    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let monitor = Unmanaged<ReadinessMonitor>.fromOpaque(argument!).takeRetainedValue()
            monitor.loop()
            return nil
        }, context)
        precondition(result == 0, "cannot start the readiness thread: \(String(cString: strerror(result)))")
    }

    /// The main loop is alive.
    func mainLoopRan() {
        mainLoopBeat.store(DaemonClock.monotonicNanoseconds(), ordering: .relaxed)
    }

    /// A graceful stop began: not ready from now on.
    func beginStop() {
        stopping.store(true, ordering: .relaxed)
    }

    func stop() {
        finished.store(true, ordering: .relaxed)
        pthread_join(thread, nil)
    }

    private func loop() {
        var last = Readiness(reasons: ["starting"])
        var ticks = 0
        var portsDown: [UInt16] = []
        var watchdog = SystemdNotify.watchdogIntervalNanoseconds().map { LcoreWatchdog(intervalNanoseconds: $0) }
        while !finished.load(ordering: .relaxed) {
            usleep(Self.tickMicroseconds)
            let now = DaemonClock.monotonicNanoseconds()
            // Link state is asked every tenth tick (100 ms): some drivers read device
            // registers for it while the lcores move packets.
            if ticks % 10 == 0 { portsDown = runtime.portsWithoutLink() }
            ticks &+= 1
            let sample = runtime.readinessSample(now: now, stopping: stopping.load(ordering: .relaxed), portsDown: portsDown)
            if watchdog?.update(loops: sample.loops, now: now) == true { SystemdNotify.send("WATCHDOG=1") }
            var verdict = tracker.update(sample)
            let quiet = now &- mainLoopBeat.load(ordering: .relaxed)
            if quiet > Self.mainLoopLimitNanoseconds && quiet < UInt64.max / 2 {
                verdict.reasons.append("the main loop has not run for \(quiet / 1_000_000) ms (a reload waiting for an lcore, or a hang)")
            }
            state.publish(verdict, at: now)
            if verdict != last {
                if verdict.isReady { log.info("ready: forwarding") } else { log.warning("\(verdict)") }
                last = verdict
            }
        }
    }
}
