import GLBCore

/// What the checker knows about one checked backend.
public struct BackendHealth: Equatable, Sendable {
    public var dampener = Dampener()
    /// When the health took its current value (its first result, or its last change).
    public var since: WallTime?
    /// Changes of health after the first result.
    public var transitions = 0
    /// The latest result of each of its checks, in check order.
    public var latest: [CheckRecord] = []
    /// Whether each recent round passed (every check passed), oldest first.
    public var recent: [Bool] = []

    public var healthy: Bool? { dampener.healthy }

    public init() {}
}

/// A backend's health was decided: from its first result, or by `trigger` rounds in a row.
public struct HealthTransition: Equatable, Sendable {
    public var key: BackendKey
    /// nil when this is the backend's first result.
    public var previous: Bool?
    public var healthy: Bool
    /// Consecutive rounds that led to it (1 for a first result).
    public var rounds: Int
    /// The round's results that decided it.
    public var evidence: [CheckRecord]

    /// The failed checks with their reasons: "http://10.0.0.1:80/: HTTP 500 …; gue …".
    public var failures: String {
        evidence.filter { !$0.outcome.passed }
            .map { "\($0.target): \($0.outcome.failure ?? "failed")" }
            .joined(separator: "; ")
    }
}

/// Every checked backend's health, fed one round at a time.
public struct HealthLedger: Sendable {
    /// How many round results each backend keeps for the status view.
    public static let historyLength = 10

    public private(set) var backends: [BackendKey: BackendHealth] = [:]

    public init() {}

    public func health(of key: BackendKey) -> Bool? { backends[key]?.healthy }

    /// Forgets backends that are no longer in the source.
    public mutating func retain(only keys: Set<BackendKey>) {
        backends = backends.filter { keys.contains($0.key) }
    }

    /// Records one round for one backend; returns the transition when its health was decided.
    /// - Parameters:
    ///   - results: the round's results by target (a missing one counts as failed).
    ///   - trigger: consecutive disagreeing rounds needed for a change.
    public mutating func record(_ key: BackendKey, results: [CheckTarget: CheckRecord], trigger: Int,
                                at time: WallTime) -> HealthTransition? {
        var state = backends[key] ?? BackendHealth()
        let records = key.checks.map { target in
            results[target] ?? CheckRecord(target: target, outcome: .failed("not checked this round", after: .zero), at: time)
        }
        let passed = records.allSatisfy(\.outcome.passed)
        state.latest = records
        state.recent.append(passed)
        if state.recent.count > Self.historyLength { state.recent.removeFirst(state.recent.count - Self.historyLength) }

        let previous = state.healthy
        let streak = state.dampener.disagreeing + 1
        var transition: HealthTransition?
        switch state.dampener.record(passed, trigger: trigger) {
        case .established(let healthy):
            state.since = time
            transition = HealthTransition(key: key, previous: nil, healthy: healthy, rounds: 1, evidence: records)
        case .changed(let healthy):
            state.since = time
            state.transitions += 1
            transition = HealthTransition(key: key, previous: previous, healthy: healthy, rounds: streak, evidence: records)
        case .unchanged:
            break
        }
        backends[key] = state
        return transition
    }
}
