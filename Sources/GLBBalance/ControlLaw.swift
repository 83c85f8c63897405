/// The parameters of the control law, per table (docs/glb-balance.md, "The control law").
public struct LawParameters: Equatable, Sendable {
    /// Utilizations within this distance of the mean are left alone (no action at all when
    /// every backend is within it).
    public var deadBand: Double = 0.05
    /// How far a step goes toward the weight that would even out utilization: 1 all the way,
    /// 0.5 half way (damping against a load that answers with a delay).
    public var gain: Double = 0.5
    /// The largest change of one weight in one step, as a fraction of it.
    public var maxStep: Double = 0.25
    public var minWeight: Int = 10
    public var maxWeight: Int = 1000
    /// The weight of a backend the loop has not weighted yet (without `weight` in the source).
    public var initialWeight: Int = 100

    public init() {}
}

/// One backend as the law sees it.
public struct LawInput: Equatable, Sendable {
    public var address: String
    public var weight: Int
    public var utilization: Double
    /// Bounds of this backend (the table's, unless configured for it).
    public var minWeight: Int
    public var maxWeight: Int

    public init(address: String, weight: Int, utilization: Double, minWeight: Int, maxWeight: Int) {
        self.address = address
        self.weight = weight
        self.utilization = utilization
        self.minWeight = minWeight
        self.maxWeight = maxWeight
    }
}

/// What the law decided for a table.
public struct LawOutcome: Equatable, Sendable {
    /// New weights by address, for every backend given.
    public var weights: [String: Int]
    /// True when some weight changed.
    public var changed: Bool
    /// Max minus min utilization of the backends given.
    public var spread: Double
    public var reason: String
}

/// Moves weights toward equal utilization. A backend's utilization is its load divided by its
/// capacity; new flows follow the weights, so a backend above the mean utilization should get
/// a smaller share. The weight that would bring backend i to the mean `ū`, if its load scaled
/// with its share, is `w_i · ū / u_i`; each step moves a fraction `gain` of the way there (in
/// the logarithm of the weight), by at most `maxStep` of the weight, within the backend's
/// bounds. Backends inside the dead band around the mean keep their weight; when all are
/// inside it, nothing changes.
public enum ControlLaw {
    public static func step(_ backends: [LawInput], _ p: LawParameters) -> LawOutcome {
        let utilizations = backends.map(\.utilization)
        let spread = (utilizations.max() ?? 0) - (utilizations.min() ?? 0)
        var weights: [String: Int] = [:]
        for b in backends { weights[b.address] = b.weight }
        guard backends.count > 1 else {
            return LawOutcome(weights: weights, changed: false, spread: spread, reason: "fewer than two backends to balance")
        }
        let mean = utilizations.reduce(0, +) / Double(backends.count)
        guard backends.contains(where: { abs($0.utilization - mean) > p.deadBand }) else {
            return LawOutcome(weights: weights, changed: false, spread: spread,
                              reason: "every utilization within the dead band (±\(format(p.deadBand)) of the mean \(format(mean)))")
        }
        guard mean > 0 else {
            return LawOutcome(weights: weights, changed: false, spread: spread, reason: "no load measured")
        }
        var changed = false
        for b in backends where abs(b.utilization - mean) > p.deadBand {
            // Toward ū / u_i, damped; a backend with no load at all is moved up by the step limit.
            let ideal = b.utilization > 0 ? mean / b.utilization : Double.infinity
            var factor = ideal.isFinite ? pow(ideal, p.gain) : 1 + p.maxStep
            factor = min(max(factor, 1 - p.maxStep), 1 + p.maxStep)
            var next = Int((Double(b.weight) * factor).rounded())
            // At least one unit of movement in the wanted direction, as rounding may eat it.
            if next == b.weight { next += factor > 1 ? 1 : -1 }
            next = min(max(next, b.minWeight), b.maxWeight)
            if next != b.weight {
                weights[b.address] = next
                changed = true
            }
        }
        let reason = changed
            ? "utilization spread \(format(spread)) around the mean \(format(mean)), outside the dead band ±\(format(p.deadBand))"
            : "outside the dead band, but every backend that should move is at its weight bound"
        return LawOutcome(weights: weights, changed: changed, spread: spread, reason: reason)
    }

    /// Two decimals, for logs and reasons.
    public static func format(_ v: Double) -> String {
        let hundredths = Int((v * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let a = abs(hundredths)
        return "\(sign)\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
    }
}

#if canImport(Glibc)
import Glibc
#endif
