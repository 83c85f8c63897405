import GLBCore

/// How often and how patiently backends are checked: the source table's top-level
/// `healthchecks` block, `{"interval_ms": …, "timeout_ms": …, "trigger": …}`.
///
/// GLB's defaults and rules: every key is optional, and 0 means "the default".
public struct CheckSettings: Equatable, Sendable {
    public static let defaultInterval = Duration.milliseconds(2000)
    public static let defaultTimeout = Duration.milliseconds(1000)
    public static let defaultTrigger = 3
    /// Upper bounds that keep every computation far from overflow: a day, and 1000 rounds.
    public static let maxMilliseconds: Int64 = 86_400_000
    public static let maxTrigger: Int64 = 1000

    /// Time from the start of one round to the start of the next.
    public var interval: Duration
    /// How long each check may take before it counts as failed.
    public var timeout: Duration
    /// How many consecutive rounds must disagree with a backend's health to change it.
    public var trigger: Int

    public init(interval: Duration = defaultInterval, timeout: Duration = defaultTimeout, trigger: Int = defaultTrigger) {
        self.interval = interval
        self.timeout = timeout
        self.trigger = trigger
    }
}

extension CheckSettings {
    /// Reads the top-level `healthchecks` value of a source table (nil when absent),
    /// reporting problems into `reader`.
    static func read(_ value: JSONValue?, _ reader: inout ConfigReader) -> CheckSettings {
        var settings = CheckSettings()
        guard let value else { return settings }
        guard case .object(let object) = value else {
            reader.error("healthchecks", "expected an object with interval_ms, timeout_ms and trigger, got \(value.kindName)")
            return settings
        }
        let known = ["interval_ms", "timeout_ms", "trigger"]
        reader.warnUnknownKeys(object, known: known, at: "healthchecks")

        if let ms = readCount(object, "interval_ms", max: maxMilliseconds, unit: "milliseconds", &reader), ms > 0 {
            settings.interval = .milliseconds(ms)
        }
        if let ms = readCount(object, "timeout_ms", max: maxMilliseconds, unit: "milliseconds", &reader), ms > 0 {
            settings.timeout = .milliseconds(ms)
        }
        if let n = readCount(object, "trigger", max: maxTrigger, unit: "rounds", &reader), n > 0 {
            settings.trigger = Int(n)
        }
        if settings.timeout > settings.interval {
            reader.warning("healthchecks.timeout_ms",
                           "the timeout (\(settings.timeout.humanReadable)) is longer than the interval "
                           + "(\(settings.interval.humanReadable)): a round with a slow check lasts up to the timeout, "
                           + "and the next round starts when it ends")
        }
        return settings
    }

    private static func readCount(_ object: JSONObject, _ key: String, max: Int64, unit: String,
                                  _ reader: inout ConfigReader) -> Int64? {
        guard let value = object[key] else { return nil }
        let field = "healthchecks.\(key)"
        guard case .integer(let n) = value else {
            reader.error(field, "expected a whole number of \(unit) (0 for the default), got \(ConfigReader.describe(value))")
            return nil
        }
        guard n >= 0, n <= max else {
            reader.error(field, "\(n) is out of range (expected 0 for the default, or 1-\(max) \(unit))")
            return nil
        }
        return n
    }
}
