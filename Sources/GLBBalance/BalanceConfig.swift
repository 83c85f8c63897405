import GLBCore

/// glb-balance's configuration file (docs/glb-balance.md, "Configuration").
public struct BalanceConfig: Equatable, Sendable {
    /// The operator's forwarding table (states, binds, health checks): read, never written.
    public var source: String
    /// The table with weights that the loop writes: glb-healthcheck's source.
    public var output: String
    /// glb-healthcheck's checked table (its `dst`), for the backends' health.
    public var checkedTable: String?
    /// Run through /bin/sh after each write (for example, to make glb-healthcheck re-read).
    public var reloadCommand: String?
    /// Prometheus' base URL, http://host:port.
    public var prometheus: String
    public var intervalSeconds = 10
    public var minChangeIntervalSeconds = 60
    public var queryTimeoutMilliseconds = 2000
    public var tables: [TableLoop] = []

    /// The loop of one table.
    public struct TableLoop: Equatable, Sendable {
        /// The table's `name`, or its index when given as a number.
        public var table: TableRef
        public var query: String
        public var addressLabel = "backend"
        public var law = LawParameters()
        public var limits: [String: BackendLimits] = [:]
    }

    public enum TableRef: Equatable, Sendable, CustomStringConvertible {
        case name(String)
        case index(Int)

        public var description: String {
            switch self {
            case .name(let n): return n
            case .index(let i): return "table \(i)"
            }
        }
    }

    public struct BackendLimits: Equatable, Sendable {
        public var minWeight: Int?
        public var maxWeight: Int?
    }
}

/// glb-balance's file: every key, with unknown ones as warnings.
extension BalanceConfig: ConfigFile {
    public static let sizeLimit = 1 << 20

    public static func read(_ json: JSONValue, _ reader: inout ConfigReader) -> BalanceConfig? {
        guard let root = reader.rootObject(json) else { return nil }
        reader.warnUnknownKeys(root, known: ["source", "output", "checked_table", "reload_command", "prometheus", "interval_s",
                                             "min_change_interval_s", "query_timeout_ms", "tables"], at: nil)
        let source = reader.string(root, "source", required: true)
        let output = reader.string(root, "output", required: true)
        let prometheus = reader.string(root, "prometheus", required: true)
        if let prometheus, !prometheus.hasPrefix("http://") {
            reader.error("prometheus", "expected Prometheus' URL such as http://127.0.0.1:9090")
        }
        if let source, let output, source == output {
            reader.error("output", "is the source: the loop would overwrite the operator's table")
        }
        var config = BalanceConfig(source: source ?? "", output: output ?? "", prometheus: prometheus ?? "")
        config.checkedTable = reader.string(root, "checked_table", required: false)
        config.reloadCommand = reader.string(root, "reload_command", required: false)
        config.intervalSeconds = reader.integer(root, "interval_s", in: 1...3600) ?? 10
        config.minChangeIntervalSeconds = reader.integer(root, "min_change_interval_s", in: 0...86_400) ?? 60
        config.queryTimeoutMilliseconds = reader.integer(root, "query_timeout_ms", in: 100...60_000) ?? 2000
        guard case .array(let tables)? = root["tables"], !tables.isEmpty else {
            reader.error("tables", "missing: expected a list of {\"table\", \"query\"}, one per table to balance")
            return nil
        }
        for (i, item) in tables.enumerated() {
            let path = "tables[\(i)]"
            guard case .object(let t) = item else {
                reader.error(path, "expected an object, got \(item.kindName)")
                continue
            }
            reader.warnUnknownKeys(t, known: ["table", "query", "address_label", "dead_band", "gain", "max_step", "min_weight",
                                              "max_weight", "initial_weight", "backends"], at: path)
            let ref: TableRef
            switch t["table"] {
            case .string(let name)?: ref = .name(name)
            case .integer(let index)? where index >= 0 && index < 256: ref = .index(Int(index))
            default:
                reader.error("\(path).table", "expected the table's name or its index")
                continue
            }
            guard let query = reader.string(t, "query", at: path, required: true) else { continue }
            var loop = TableLoop(table: ref, query: query)
            loop.addressLabel = reader.string(t, "address_label", at: path, required: false) ?? "backend"
            loop.law.deadBand = reader.number(t, "dead_band", at: path, in: 0...1) ?? loop.law.deadBand
            loop.law.gain = reader.number(t, "gain", at: path, in: 0.01...1) ?? loop.law.gain
            loop.law.maxStep = reader.number(t, "max_step", at: path, in: 0.01...0.9) ?? loop.law.maxStep
            loop.law.minWeight = reader.integer(t, "min_weight", at: path, in: 1...65535) ?? loop.law.minWeight
            loop.law.maxWeight = reader.integer(t, "max_weight", at: path, in: 1...65535) ?? loop.law.maxWeight
            loop.law.initialWeight = reader.integer(t, "initial_weight", at: path, in: 1...65535) ?? loop.law.initialWeight
            if loop.law.minWeight > loop.law.maxWeight {
                reader.error("\(path).min_weight", "\(loop.law.minWeight) is above max_weight \(loop.law.maxWeight)")
            }
            if case .object(let backends)? = t["backends"] {
                for (address, value) in backends.members {
                    let bpath = "\(path).backends.\(address)"
                    guard IPAddress(address) != nil, case .object(let b) = value else {
                        reader.error(bpath, "expected a backend address with {\"min_weight\", \"max_weight\"}")
                        continue
                    }
                    reader.warnUnknownKeys(b, known: ["min_weight", "max_weight"], at: bpath)
                    loop.limits[address] = BackendLimits(minWeight: reader.integer(b, "min_weight", at: bpath, in: 1...65535),
                                                         maxWeight: reader.integer(b, "max_weight", at: bpath, in: 1...65535))
                }
            } else if t["backends"] != nil {
                reader.error("\(path).backends", "expected an object of backend addresses")
            }
            if config.tables.contains(where: { $0.table == ref }) {
                reader.error("\(path).table", "\(ref) has a loop already")
            }
            config.tables.append(loop)
        }
        return config
    }
}
