import GLBCore

/// The result of one check: passed, or failed with the reason, and how long it took.
public struct ProbeOutcome: Equatable, Sendable {
    public var passed: Bool
    /// Why the check failed, in words an operator can act on; nil when it passed.
    public var failure: String?
    public var duration: Duration

    public static func passed(after duration: Duration) -> ProbeOutcome {
        ProbeOutcome(passed: true, failure: nil, duration: duration)
    }

    public static func failed(_ reason: String, after duration: Duration) -> ProbeOutcome {
        ProbeOutcome(passed: false, failure: reason, duration: duration)
    }
}

/// One check's latest result and when it was taken.
public struct CheckRecord: Equatable, Sendable {
    public var target: CheckTarget
    public var outcome: ProbeOutcome
    public var at: WallTime

    public init(target: CheckTarget, outcome: ProbeOutcome, at: WallTime) {
        self.target = target
        self.outcome = outcome
        self.at = at
    }
}

/// Runs checks. The service gives each call the round's timeout and expects an outcome
/// within it; a call that overruns is abandoned and counted as failed.
public protocol Prober: Sendable {
    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome
}
