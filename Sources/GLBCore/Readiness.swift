/// Whether a director forwards, and if not, why: what `GET /ready` answers and what the
/// announcer withdraws the VIPs on.
public struct Readiness: Equatable, Sendable, CustomStringConvertible {
    /// Empty when ready; otherwise one line per reason, in a stable order.
    public var reasons: [String]

    public init(reasons: [String]) {
        self.reasons = reasons
    }

    public static let ready = Readiness(reasons: [])

    public var isReady: Bool { reasons.isEmpty }

    public var description: String { isReady ? "ready" : "not ready: " + reasons.joined(separator: "; ") }
}

/// Decides readiness from periodic samples of the director's state. An lcore makes progress
/// when its loop counter moves; one whose counter has not moved for longer than the window
/// (a stopped thread, a stuck loop) makes the director not ready although the process lives.
/// Plain data in, a verdict out, so that it is tested without DPDK.
public struct ReadinessTracker: Sendable {
    /// What the director looks like at one instant.
    public struct Sample: Sendable {
        /// Nanoseconds on a monotonic clock.
        public var now: UInt64
        /// Each watched lcore's loop counter, in the order of `lcores`.
        public var loops: [UInt64]
        /// Ports without link.
        public var portsDown: [UInt16]
        /// Binds of the loaded table (a table without binds forwards nothing).
        public var binds: Int
        /// A stop is under way (the grace period after SIGTERM).
        public var stopping: Bool

        public init(now: UInt64, loops: [UInt64], portsDown: [UInt16], binds: Int, stopping: Bool) {
            self.now = now
            self.loops = loops
            self.portsDown = portsDown
            self.binds = binds
            self.stopping = stopping
        }
    }

    public let lcores: [Int]
    public let windowNanoseconds: UInt64
    private var lastLoops: [UInt64]?
    private var lastProgress: [UInt64]

    /// - Parameters:
    ///   - lcores: the lcores whose loops are watched, in the order samples give them.
    ///   - windowMilliseconds: how long an lcore may go without progress.
    public init(lcores: [Int], windowMilliseconds: Int) {
        self.lcores = lcores
        windowNanoseconds = UInt64(windowMilliseconds) * 1_000_000
        lastProgress = Array(repeating: 0, count: lcores.count)
    }

    /// Takes in a sample and gives the verdict at its instant.
    public mutating func update(_ sample: Sample) -> Readiness {
        precondition(sample.loops.count == lcores.count, "one loop counter per watched lcore")
        if let previous = lastLoops {
            for i in lcores.indices where sample.loops[i] != previous[i] {
                lastProgress[i] = sample.now
            }
        } else {
            // The first sample starts every lcore's window.
            lastProgress = Array(repeating: sample.now, count: lcores.count)
        }
        lastLoops = sample.loops

        var reasons: [String] = []
        if sample.stopping { reasons.append("stopping: the grace period after a stop signal") }
        for i in lcores.indices {
            let idle = sample.now &- lastProgress[i]
            if idle > windowNanoseconds {
                reasons.append("lcore \(lcores[i]) made no progress for \(idle / 1_000_000) ms (window \(windowNanoseconds / 1_000_000) ms)")
            }
        }
        for port in sample.portsDown { reasons.append("port \(port) has no link") }
        if sample.binds == 0 { reasons.append("the loaded table has no binds") }
        return Readiness(reasons: reasons)
    }
}

/// Decides when the director may tell systemd's watchdog it is alive (`WATCHDOG=1`): at most
/// once per `interval`, and only when every watched lcore's loop counter has moved since the
/// previous ping. A stuck lcore (or a stuck caller) stops the pings, and systemd then ends the
/// process (WatchdogSec=), instead of it living on without forwarding.
public struct LcoreWatchdog: Sendable {
    public let intervalNanoseconds: UInt64
    /// The counters and the time of the last ping (or of the first sample).
    private var baseline: (loops: [UInt64], at: UInt64)?

    /// - Parameter intervalNanoseconds: the least time between two pings (half of systemd's
    ///   WATCHDOG_USEC, as sd_watchdog_enabled(3) advises).
    public init(intervalNanoseconds: UInt64) {
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// Takes in the lcores' loop counters at `now`; true when a ping is due.
    public mutating func update(loops: [UInt64], now: UInt64) -> Bool {
        guard let baseline else {
            self.baseline = (loops, now)
            return false
        }
        precondition(loops.count == baseline.loops.count, "one loop counter per watched lcore")
        guard now &- baseline.at >= intervalNanoseconds, zip(baseline.loops, loops).allSatisfy({ $0 != $1 }) else {
            return false
        }
        self.baseline = (loops, now)
        return true
    }
}
