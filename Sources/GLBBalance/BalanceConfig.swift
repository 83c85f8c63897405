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

    public static func load(path: String) throws(ConfigErrors) -> (BalanceConfig, [ConfigIssue]) {
        let json = try ConfigDocument.read(path: path, limit: 1 << 20)
        var reader = Reader(issues: IssueList(file: path))
        let config = reader.read(json)
        guard let config, !reader.issues.hasErrors else { throw ConfigErrors(reader.issues.issues) }
        return (config, reader.issues.issues)
    }

    public static func decode(_ text: String, file: String = "balance.json") throws(ConfigErrors) -> (BalanceConfig, [ConfigIssue]) {
        let json = try ConfigDocument.parse(Array(text.utf8), file: file)
        var reader = Reader(issues: IssueList(file: file))
        let config = reader.read(json)
        guard let config, !reader.issues.hasErrors else { throw ConfigErrors(reader.issues.issues) }
        return (config, reader.issues.issues)
    }

    private struct Reader {
        var issues: IssueList

        mutating func string(_ o: JSONObject, _ key: String, at path: String? = nil, required: Bool) -> String? {
            let field = path.map { "\($0).\(key)" } ?? key
            switch o[key] {
            case nil:
                if required { issues.error(field, "missing") }
                return nil
            case .string(let s)? where !s.isEmpty:
                return s
            case let other?:
                issues.error(field, "expected a non-empty string, got \(IssueList.describe(other))")
                return nil
            }
        }

        mutating func integer(_ o: JSONObject, _ key: String, at path: String? = nil, range: ClosedRange<Int>) -> Int? {
            let field = path.map { "\($0).\(key)" } ?? key
            switch o[key] {
            case nil: return nil
            case .integer(let i)? where range.contains(Int(clamping: i)): return Int(i)
            case let other?:
                issues.error(field, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(IssueList.describe(other))")
                return nil
            }
        }

        mutating func fraction(_ o: JSONObject, _ key: String, at path: String, range: ClosedRange<Double>) -> Double? {
            let value: Double
            switch o[key] {
            case nil: return nil
            case .integer(let i)?: value = Double(i)
            case .number(let d)?: value = d
            case let other?:
                issues.error("\(path).\(key)", "expected a number from \(range.lowerBound) to \(range.upperBound), got \(IssueList.describe(other))")
                return nil
            }
            guard range.contains(value) else {
                issues.error("\(path).\(key)", "\(value) is out of range (expected \(range.lowerBound) to \(range.upperBound))")
                return nil
            }
            return value
        }

        mutating func read(_ json: JSONValue) -> BalanceConfig? {
            guard case .object(let root) = json else {
                issues.error(nil, "expected a JSON object, got \(json.kindName)")
                return nil
            }
            issues.warnUnknownKeys(root, known: ["source", "output", "checked_table", "reload_command", "prometheus", "interval_s",
                                                 "min_change_interval_s", "query_timeout_ms", "tables"], at: nil)
            let source = string(root, "source", required: true)
            let output = string(root, "output", required: true)
            let prometheus = string(root, "prometheus", required: true)
            if let prometheus, !prometheus.hasPrefix("http://") {
                issues.error("prometheus", "expected Prometheus' URL such as http://127.0.0.1:9090")
            }
            if let source, let output, source == output {
                issues.error("output", "is the source: the loop would overwrite the operator's table")
            }
            var config = BalanceConfig(source: source ?? "", output: output ?? "", prometheus: prometheus ?? "")
            config.checkedTable = string(root, "checked_table", required: false)
            config.reloadCommand = string(root, "reload_command", required: false)
            config.intervalSeconds = integer(root, "interval_s", range: 1...3600) ?? 10
            config.minChangeIntervalSeconds = integer(root, "min_change_interval_s", range: 0...86_400) ?? 60
            config.queryTimeoutMilliseconds = integer(root, "query_timeout_ms", range: 100...60_000) ?? 2000
            guard case .array(let tables)? = root["tables"], !tables.isEmpty else {
                issues.error("tables", "missing: expected a list of {\"table\", \"query\"}, one per table to balance")
                return nil
            }
            for (i, item) in tables.enumerated() {
                let path = "tables[\(i)]"
                guard case .object(let t) = item else {
                    issues.error(path, "expected an object, got \(item.kindName)")
                    continue
                }
                issues.warnUnknownKeys(t, known: ["table", "query", "address_label", "dead_band", "gain", "max_step", "min_weight",
                                                  "max_weight", "initial_weight", "backends"], at: path)
                let ref: TableRef
                switch t["table"] {
                case .string(let name)?: ref = .name(name)
                case .integer(let index)? where index >= 0 && index < 256: ref = .index(Int(index))
                default:
                    issues.error("\(path).table", "expected the table's name or its index")
                    continue
                }
                guard let query = string(t, "query", at: path, required: true) else { continue }
                var loop = TableLoop(table: ref, query: query)
                loop.addressLabel = string(t, "address_label", at: path, required: false) ?? "backend"
                loop.law.deadBand = fraction(t, "dead_band", at: path, range: 0...1) ?? loop.law.deadBand
                loop.law.gain = fraction(t, "gain", at: path, range: 0.01...1) ?? loop.law.gain
                loop.law.maxStep = fraction(t, "max_step", at: path, range: 0.01...0.9) ?? loop.law.maxStep
                loop.law.minWeight = integer(t, "min_weight", at: path, range: 1...65535) ?? loop.law.minWeight
                loop.law.maxWeight = integer(t, "max_weight", at: path, range: 1...65535) ?? loop.law.maxWeight
                loop.law.initialWeight = integer(t, "initial_weight", at: path, range: 1...65535) ?? loop.law.initialWeight
                if loop.law.minWeight > loop.law.maxWeight {
                    issues.error("\(path).min_weight", "\(loop.law.minWeight) is above max_weight \(loop.law.maxWeight)")
                }
                if case .object(let backends)? = t["backends"] {
                    for (address, value) in backends.members {
                        let bpath = "\(path).backends.\(address)"
                        guard IPAddress(address) != nil, case .object(let b) = value else {
                            issues.error(bpath, "expected a backend address with {\"min_weight\", \"max_weight\"}")
                            continue
                        }
                        issues.warnUnknownKeys(b, known: ["min_weight", "max_weight"], at: bpath)
                        loop.limits[address] = BackendLimits(minWeight: integer(b, "min_weight", at: bpath, range: 1...65535),
                                                             maxWeight: integer(b, "max_weight", at: bpath, range: 1...65535))
                    }
                } else if t["backends"] != nil {
                    issues.error("\(path).backends", "expected an object of backend addresses")
                }
                if config.tables.contains(where: { $0.table == ref }) {
                    issues.error("\(path).table", "\(ref) has a loop already")
                }
                config.tables.append(loop)
            }
            return config
        }
    }
}
