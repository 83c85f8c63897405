/// Decides a backend's health from its stream of round results, so that one lost packet or
/// one slow answer does not move traffic.
///
/// The first result is taken as the backend's health at once (GLB's rule: there is nothing
/// to dampen against yet). After that, health changes only when `trigger` consecutive results
/// disagree with it, in either direction; a single agreeing result resets the count.
public struct Dampener: Equatable, Sendable {
    /// The health decided so far; nil before the first result.
    public private(set) var healthy: Bool?
    /// Consecutive results, up to now, that disagree with `healthy`.
    public private(set) var disagreeing: Int = 0

    public init(healthy: Bool? = nil) {
        self.healthy = healthy
    }

    /// What one result did to the health.
    public enum Change: Equatable, Sendable {
        /// The first result set the health.
        case established(Bool)
        /// `trigger` disagreeing results in a row changed the health.
        case changed(to: Bool)
        /// No change (the result agreed, or not enough disagreed yet).
        case unchanged
    }

    /// Feeds one round's result (true: every check passed).
    /// - Parameter trigger: consecutive disagreeing results needed for a change (at least 1).
    public mutating func record(_ passed: Bool, trigger: Int) -> Change {
        guard let current = healthy else {
            healthy = passed
            disagreeing = 0
            return .established(passed)
        }
        if passed == current {
            disagreeing = 0
            return .unchanged
        }
        disagreeing += 1
        guard disagreeing >= max(trigger, 1) else { return .unchanged }
        healthy = passed
        disagreeing = 0
        return .changed(to: passed)
    }
}
