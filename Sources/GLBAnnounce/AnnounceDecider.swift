/// What one poll of the director's `GET /ready` found.
public enum DirectorObservation: Equatable, Sendable {
    case ready
    /// 503: the director says why.
    case notReady(String)
    /// No answer: refused, timed out, or a reply that is not HTTP 200/503.
    case unreachable(String)
}

/// What one poll of the health checker's metrics found.
public enum HealthcheckObservation: Equatable, Sendable {
    /// `glb_healthcheck_reload_pending`: a written table the reload command failed to load.
    case reloadPending(Bool)
    case unreachable(String)
}

/// When to announce and when to withdraw.
public struct AnnouncePolicy: Equatable, Sendable {
    /// Good polls in a row before announcing again (damping, so a flapping director does not
    /// make the routers flap).
    public var rise: Int
    /// Bad polls in a row before withdrawing.
    public var fall: Int
    /// How long the health checker may have a reload pending (or be unreachable) before the
    /// director's table counts as stale. Nil: the health checker is not watched.
    public var staleAfterNanoseconds: UInt64?

    public init(rise: Int = 3, fall: Int = 1, staleAfterNanoseconds: UInt64? = nil) {
        self.rise = max(rise, 1)
        self.fall = max(fall, 1)
        self.staleAfterNanoseconds = staleAfterNanoseconds
    }
}

/// The outcome of one decision.
public struct AnnounceDecision: Equatable, Sendable {
    public var announce: Bool
    /// Why the VIPs are (or are not) announced, for logs and status.
    public var reason: String
    /// True when `announce` differs from the previous decision.
    public var changed: Bool
}

/// Decides, poll after poll, whether this director's VIPs are announced. Announced only while
/// the director answers ready (for `rise` polls in a row), its table is not stale, and there
/// is something to announce; withdrawn after `fall` bad polls, or at once when the table goes
/// stale or the VIPs go away. Starts withdrawn. Plain data, so it is tested without a network.
public struct AnnounceDecider: Sendable {
    public let policy: AnnouncePolicy
    public private(set) var announcing = false
    private var goodPolls = 0
    private var badPolls = 0
    private var lastDirectorProblem = "no answer from the director yet"
    private var pendingSince: UInt64?
    private var pendingWhy = ""

    public init(policy: AnnouncePolicy) {
        self.policy = policy
    }

    /// Takes in what the health checker said at `now` (nanoseconds, monotonic).
    public mutating func observe(_ healthcheck: HealthcheckObservation, at now: UInt64) {
        switch healthcheck {
        case .reloadPending(false):
            pendingSince = nil
        case .reloadPending(true):
            if pendingSince == nil { pendingSince = now }
            pendingWhy = "the health checker has a table reload pending"
        case .unreachable(let why):
            if pendingSince == nil { pendingSince = now }
            pendingWhy = "the health checker does not answer (\(why))"
        }
    }

    /// Whether the table counts as stale at `now`, and why.
    public func staleness(at now: UInt64) -> String? {
        guard let limit = policy.staleAfterNanoseconds, let since = pendingSince, now &- since > limit else { return nil }
        return "table stale: \(pendingWhy) for \((now &- since) / 1_000_000_000) s (stale after \(limit / 1_000_000_000) s)"
    }

    /// Takes in one poll of the director and decides.
    public mutating func decide(_ director: DirectorObservation, vipCount: Int, at now: UInt64) -> AnnounceDecision {
        switch director {
        case .ready:
            goodPolls += 1
            badPolls = 0
        case .notReady(let why):
            badPolls += 1
            goodPolls = 0
            lastDirectorProblem = "director not ready: \(why)"
        case .unreachable(let why):
            badPolls += 1
            goodPolls = 0
            lastDirectorProblem = "director unreachable: \(why)"
        }

        let previous = announcing
        var reason: String
        if let stale = staleness(at: now) {
            announcing = false
            reason = stale
        } else if vipCount == 0 {
            announcing = false
            reason = "the forwarding table has no binds to announce"
        } else if announcing {
            if badPolls >= policy.fall {
                announcing = false
                reason = lastDirectorProblem
            } else {
                reason = badPolls > 0 ? "\(lastDirectorProblem) (\(badPolls) of \(policy.fall) bad polls before withdrawing)" : "director ready"
            }
        } else if goodPolls >= policy.rise {
            announcing = true
            reason = "director ready for \(goodPolls) polls in a row"
        } else {
            reason = goodPolls > 0 ? "director ready for \(goodPolls) of \(policy.rise) polls" : lastDirectorProblem
        }
        return AnnounceDecision(announce: announcing, reason: reason, changed: announcing != previous)
    }
}

/// Reads one sample from Prometheus' text format: the value of the first series named `name`
/// (with or without labels, with or without a timestamp after the value), or nil when there
/// is none.
public func prometheusSample(_ name: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name) {
        var rest = line.dropFirst(name.count)
        if rest.first == "{" {
            guard let close = rest.lastIndex(of: "}") else { continue }
            rest = rest[rest.index(after: close)...]
        } else if rest.first != " " {
            continue
        }
        if let value = rest.split(separator: " ", omittingEmptySubsequences: true).first, let v = Double(value) { return v }
    }
    return nil
}
