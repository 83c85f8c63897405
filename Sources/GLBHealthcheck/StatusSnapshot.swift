import GLBCore

/// The checker's view at one moment, for `--once`, the `/status` page and `/metrics`.
public struct StatusSnapshot: Sendable {
    public var source: String
    public var destination: String
    public var settings: CheckSettings
    /// Rounds completed since start.
    public var rounds = 0
    public var lastRound: WallTime?
    public var counters = ServiceCounters()
    /// Why the last reload of the source failed; nil when it succeeded (the tables below are
    /// always from the last good source).
    public var sourceError: String?
    /// The destination was written and the reload command has not yet succeeded for it (it
    /// is running, or failed and will be retried after the next round).
    public var reloadPending = false
    /// The reload command is running now (checks go on meanwhile).
    public var reloadRunning = false
    public var tables: [TableView] = []
    public var checks: [CheckView] = []

    public init(source: String, destination: String, settings: CheckSettings) {
        self.source = source
        self.destination = destination
        self.settings = settings
    }

    public struct TableView: Sendable {
        public var index: Int
        public var name: String?
        public var backends: [BackendView]
        public var label: String { name ?? String(index) }
    }

    public struct BackendView: Sendable {
        public var address: IPAddress
        public var state: BackendState
        public var checked: Bool
        /// For a checked backend, once it has had a round.
        public var health: BackendHealth?

        /// What the destination says (unchecked backends are written healthy); nil while a
        /// checked backend has no result yet.
        public var healthy: Bool? { checked ? health?.healthy : true }
    }

    public struct CheckView: Sendable {
        public var target: CheckTarget
        public var latest: CheckRecord?
        public var runs: Int
        public var failures: Int
    }

    /// Checked backends whose health is known, and how many of them are unhealthy.
    public var unhealthyCount: Int {
        var seen = Set<IPAddress>()
        var count = 0
        for table in tables {
            for backend in table.backends where backend.checked && backend.healthy == false {
                if seen.insert(backend.address).inserted { count += 1 }
            }
        }
        return count
    }
}

/// What the service did with files and commands since start.
public struct ServiceCounters: Equatable, Sendable {
    public var sourceLoads = 0
    public var sourceLoadFailures = 0
    public var writes = 0
    public var writeFailures = 0
    public var reloads = 0
    public var reloadFailures = 0

    public init() {}
}

extension StatusSnapshot {
    /// The view as JSON (key order fixed, as documented in docs/glb-healthcheck.md).
    public var json: JSONValue {
        var root = JSONObject()
        root["source"] = .string(source)
        root["destination"] = .string(destination)
        var s = JSONObject()
        s["interval_ms"] = .integer(Int64(settings.interval.milliseconds.rounded()))
        s["timeout_ms"] = .integer(Int64(settings.timeout.milliseconds.rounded()))
        s["trigger"] = .integer(Int64(settings.trigger))
        root["settings"] = .object(s)
        root["rounds"] = .integer(Int64(rounds))
        root["last_round"] = lastRound.map { .string($0.iso8601) } ?? .null

        var src = JSONObject()
        src["ok"] = .bool(sourceError == nil)
        src["error"] = sourceError.map(JSONValue.string) ?? .null
        src["loads"] = .integer(Int64(counters.sourceLoads))
        src["load_failures"] = .integer(Int64(counters.sourceLoadFailures))
        root["source_status"] = .object(src)

        var dst = JSONObject()
        dst["writes"] = .integer(Int64(counters.writes))
        dst["write_failures"] = .integer(Int64(counters.writeFailures))
        dst["reloads"] = .integer(Int64(counters.reloads))
        dst["reload_failures"] = .integer(Int64(counters.reloadFailures))
        dst["reload_pending"] = .bool(reloadPending)
        dst["reload_running"] = .bool(reloadRunning)
        root["destination_status"] = .object(dst)

        root["tables"] = .array(tables.map { table in
            var t = JSONObject()
            t["index"] = .integer(Int64(table.index))
            t["name"] = table.name.map(JSONValue.string) ?? .null
            t["backends"] = .array(table.backends.map(Self.json))
            return .object(t)
        })
        return .object(root)
    }

    static func json(_ backend: BackendView) -> JSONValue {
        var b = JSONObject()
        b["ip"] = .string("\(backend.address)")
        b["state"] = .string(backend.state.rawValue)
        b["checked"] = .bool(backend.checked)
        b["healthy"] = backend.healthy.map(JSONValue.bool) ?? .null
        guard backend.checked else { return .object(b) }
        let health = backend.health
        b["since"] = health?.since.map { .string($0.iso8601) } ?? .null
        b["transitions"] = .integer(Int64(health?.transitions ?? 0))
        b["disagreeing_rounds"] = .integer(Int64(health?.dampener.disagreeing ?? 0))
        b["recent_rounds"] = .array((health?.recent ?? []).map(JSONValue.bool))
        b["checks"] = .array((health?.latest ?? []).map(json))
        return .object(b)
    }

    static func json(_ record: CheckRecord) -> JSONValue {
        var c = JSONObject()
        c["check"] = .string(record.target.kind.rawValue)
        c["target"] = .string(record.target.description)
        c["port"] = .integer(Int64(record.target.port))
        if let uri = record.target.uri { c["uri"] = .string(uri) }
        c["passed"] = .bool(record.outcome.passed)
        c["error"] = record.outcome.failure.map(JSONValue.string) ?? .null
        c["duration_ms"] = .number((record.outcome.duration.milliseconds * 1000).rounded() / 1000)
        c["at"] = .string(record.at.iso8601)
        return .object(c)
    }
}
