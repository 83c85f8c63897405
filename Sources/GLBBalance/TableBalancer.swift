/// A backend of a table as the balancer sees it at one step.
public struct BalancedBackend: Equatable, Sendable {
    public var address: String
    /// Active and healthy: takes new flows, so its weight is the loop's to move.
    public var eligible: Bool
    public var healthy: Bool
    /// The weight in force.
    public var weight: Int

    public init(address: String, eligible: Bool, healthy: Bool, weight: Int) {
        self.address = address
        self.eligible = eligible
        self.healthy = healthy
        self.weight = weight
    }
}

/// What the balancer did for a table at one step.
public struct BalanceDecision: Equatable, Sendable {
    public enum Action: String, Sendable {
        /// Weights moved: write a transition table.
        case change
        /// Balanced enough, or nothing can move.
        case hold
        /// The law would move weights, but the last change is too recent.
        case wait
        /// Not acting: metrics missing or stale, health or the source changing.
        case freeze
    }

    public var action: Action
    public var reason: String
    /// New weights of the backends that change (empty unless `change`).
    public var changes: [String: Int]
    public var spread: Double?
    public var utilization: [String: Double]

    public init(action: Action, reason: String, changes: [String: Int] = [:], spread: Double? = nil, utilization: [String: Double] = [:]) {
        self.action = action
        self.reason = reason
        self.changes = changes
        self.spread = spread
        self.utilization = utilization
    }

    public static func freeze(_ reason: String) -> BalanceDecision { BalanceDecision(action: .freeze, reason: reason) }
}

/// One table's control loop state: when it last moved weights, and the health it last saw.
/// Plain data; time in nanoseconds on a monotonic clock.
public struct TableBalancer: Sendable {
    public let parameters: LawParameters
    public let minIntervalNanoseconds: UInt64
    /// Per-backend bounds, where configured.
    public let limits: [String: (min: Int?, max: Int?)]
    public private(set) var lastChange: UInt64?
    private var lastHealth: [String: Bool]?
    private var settledAt: UInt64?
    private var unsettledWhy = ""

    public init(parameters: LawParameters, minIntervalSeconds: Int, limits: [String: (min: Int?, max: Int?)] = [:]) {
        self.parameters = parameters
        minIntervalNanoseconds = UInt64(minIntervalSeconds) * 1_000_000_000
        self.limits = limits
    }

    /// The source changed (an operator's edit): no weight moves for the minimum interval,
    /// so that two changes never overlap.
    public mutating func sourceChanged(at now: UInt64) {
        settledAt = now
        unsettledWhy = "the source table changed"
    }

    /// One step: `load` is each backend's utilization by address, or why there is none.
    public mutating func step(_ backends: [BalancedBackend], load: Result<[String: Double], LoadError>, at now: UInt64) -> BalanceDecision {
        func decision(_ action: BalanceDecision.Action, _ reason: String, changes: [String: Int] = [:], spread: Double? = nil,
                      utilization: [String: Double] = [:]) -> BalanceDecision {
            BalanceDecision(action: action, reason: reason, changes: changes, spread: spread, utilization: utilization)
        }
        // Health first: a backend whose health changes shifts rows by itself.
        let health = Dictionary(uniqueKeysWithValues: backends.map { ($0.address, $0.healthy) })
        if let last = lastHealth, last != health {
            let moved = health.keys.sorted().filter { last[$0] != health[$0] }
            settledAt = now
            unsettledWhy = "health changed (\(moved.map { "\($0) \(health[$0] == true ? "healthy" : "unhealthy")" }.joined(separator: ", ")))"
        }
        lastHealth = health
        if let since = settledAt {
            if now &- since < minIntervalNanoseconds {
                let left = (minIntervalNanoseconds - (now &- since) + 999_999_999) / 1_000_000_000
                return decision(.freeze, "\(unsettledWhy): not acting for \(left) s more (min_change_interval_s)")
            }
            settledAt = nil
        }

        let eligible = backends.filter(\.eligible)
        let values: [String: Double]
        switch load {
        case .failure(let error):
            return decision(.freeze, "no load metrics: \(error.description)")
        case .success(let v):
            values = v
        }
        let missing = eligible.map(\.address).filter { values[$0] == nil }
        if !missing.isEmpty {
            return decision(.freeze, "no load for \(missing.joined(separator: ", ")) (missing or stale in the query's result)", utilization: values)
        }
        if let bad = eligible.first(where: { !(values[$0.address]!.isFinite) || values[$0.address]! < 0 }) {
            return decision(.freeze, "load of \(bad.address) is \(values[bad.address]!), not a utilization", utilization: values)
        }
        let inputs = eligible.map { b in
            LawInput(address: b.address, weight: b.weight, utilization: values[b.address]!,
                     minWeight: limits[b.address]?.min ?? parameters.minWeight, maxWeight: limits[b.address]?.max ?? parameters.maxWeight)
        }
        let outcome = ControlLaw.step(inputs, parameters)
        let seen = values.filter { health[$0.key] != nil }
        guard outcome.changed else {
            return decision(.hold, outcome.reason, spread: outcome.spread, utilization: seen)
        }
        if let last = lastChange, now &- last < minIntervalNanoseconds {
            let left = (minIntervalNanoseconds - (now &- last) + 999_999_999) / 1_000_000_000
            return decision(.wait, "\(outcome.reason); the last change was too recent: \(left) s more (min_change_interval_s)",
                            spread: outcome.spread, utilization: seen)
        }
        lastChange = now
        let changes = outcome.weights.filter { address, w in eligible.first { $0.address == address }?.weight != w }
        return decision(.change, outcome.reason, changes: changes, spread: outcome.spread, utilization: seen)
    }
}

/// Why a table has no load values.
public struct LoadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
