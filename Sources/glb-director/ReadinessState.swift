import GLBCore
import GLBDaemon
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The latest readiness verdict: `ReadinessMonitor` decides it every tick, `GET /ready` and
/// the metrics read it. A verdict that has not been renewed for a while is itself a reason.
final class ReadinessState: Sendable {
    private struct Published {
        var verdict: Readiness
        var at: UInt64
    }
    private let published: Mutex<Published>
    private let staleAfter: UInt64

    /// - Parameter staleAfterMilliseconds: how old a verdict may be before it no longer counts.
    init(staleAfterMilliseconds: Int) {
        published = Mutex(Published(verdict: Readiness(reasons: ["starting"]), at: DaemonClock.monotonicNanoseconds()))
        staleAfter = UInt64(staleAfterMilliseconds) * 1_000_000
    }

    func publish(_ verdict: Readiness, at now: UInt64) {
        published.withLock { $0 = Published(verdict: verdict, at: now) }
    }

    var current: Readiness {
        let now = DaemonClock.monotonicNanoseconds()
        let p = published.withLock { $0 }
        let age = now &- p.at
        guard p.at <= now, age > staleAfter else { return p.verdict }
        return Readiness(reasons: p.verdict.reasons + ["readiness has not been checked for \(age / 1_000_000) ms"])
    }
}
