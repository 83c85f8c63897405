import GLBCore

/// The source forwarding table as the health checker uses it: the document (kept to write the
/// destination), the check settings, and every table's backends with their checks.
///
/// The source is GLB's `forwarding_table.json` with two additions GLB defines: a top-level
/// `healthchecks` block (`interval_ms`, `timeout_ms`, `trigger`) and a per-backend
/// `healthchecks` object. `healthy` in the source is ignored: the checker decides it.
public struct SourceTable: Sendable {
    public var path: String
    public var document: JSONValue
    public var settings: CheckSettings
    public var tables: [Table]

    public struct Table: Sendable, Equatable {
        public var index: Int
        public var name: String?
        public var backends: [Backend]

        /// The table's name, or its index when it has none: a label for logs and metrics.
        public var label: String { name ?? String(index) }
    }

    public struct Backend: Sendable, Equatable {
        public var index: Int
        public var address: IPAddress
        public var state: BackendState
        /// In `CheckTarget.Kind` order; empty when the backend has none.
        public var checks: [CheckTarget]

        /// Inactive backends and backends without checks are not checked (GLB's rules) and are
        /// written healthy.
        public var isChecked: Bool { state != .inactive && !checks.isEmpty }

        /// The identity of the backend's health; nil when it is not checked.
        public var key: BackendKey? { isChecked ? BackendKey(address: address, checks: checks) : nil }
    }

    /// Every check target of the checked backends, each once, in a stable order.
    public var targets: [CheckTarget] {
        var seen = Set<CheckTarget>()
        var out: [CheckTarget] = []
        for table in tables {
            for backend in table.backends where backend.isChecked {
                for check in backend.checks where seen.insert(check).inserted { out.append(check) }
            }
        }
        return out
    }

    /// Every checked backend's key, each once, in file order.
    public var keys: [BackendKey] {
        var seen = Set<BackendKey>()
        var out: [BackendKey] = []
        for table in tables {
            for backend in table.backends {
                if let key = backend.key, seen.insert(key).inserted { out.append(key) }
            }
        }
        return out
    }

    /// Labels of the tables a backend appears in, in file order.
    public func tableLabels(of key: BackendKey) -> [String] {
        tables.filter { $0.backends.contains { $0.key == key } }.map(\.label)
    }
}

/// Every problem of the source is reported with the file, the table and the key.
extension SourceTable: ConfigFile {
    public static let sizeLimit = ForwardingTableConfig.sizeLimit

    public static func read(_ json: JSONValue, _ reader: inout ConfigReader) -> SourceTable? {
        guard let root = reader.rootObject(json, with: "a \"tables\" array") else { return nil }
        let settings = CheckSettings.read(root["healthchecks"], &reader)

        // The table part is checked exactly as the compiler will read the destination: with
        // `healthy` filled in (a source usually leaves it out). Its checks are read once it is valid.
        let errorsBefore = reader.errorCount
        let config = ForwardingTableConfig.read(DestinationTable.fill(json) { _, _ in true }, &reader)
        guard let config, reader.errorCount == errorsBefore else { return nil }

        var tables: [Table] = []
        for (t, table) in config.tables.enumerated() {
            reader.tableIndex = t
            reader.tableName = table.name
            if case .object(let tableObject)? = json["tables"].flatMap(element(t)), tableObject["healthchecks"] != nil {
                reader.warning("healthchecks", "ignored here: glb-healthcheck reads interval_ms, timeout_ms and trigger "
                               + "from the top-level \"healthchecks\" block of the file, as GLB does")
            }
            var backends: [Backend] = []
            for (b, backend) in table.backends.enumerated() {
                guard let checks = BackendChecksReader.read(backend.healthchecks, address: backend.address,
                                                            path: "backends[\(b)]", &reader) else {
                    continue  // reported
                }
                backends.append(Backend(index: b, address: backend.address, state: backend.state, checks: checks))
            }
            tables.append(Table(index: t, name: table.name, backends: backends))
        }
        reader.tableIndex = nil
        reader.tableName = nil
        return SourceTable(path: reader.file, document: json, settings: settings, tables: tables)
    }

    private static func element(_ index: Int) -> (JSONValue) -> JSONValue? {
        { value in
            guard case .array(let items) = value, items.indices.contains(index) else { return nil }
            return items[index]
        }
    }
}

extension SourceTable {
    /// The destination document for the given health of each checked backend; unchecked
    /// backends are written healthy, and so is a checked one whose health is not known yet
    /// (which the service never writes: it waits for a first result).
    public func destination(health: (BackendKey) -> Bool?) -> JSONValue {
        var lookup: [Int: [Int: Bool]] = [:]
        for table in tables {
            for backend in table.backends {
                lookup[table.index, default: [:]][backend.index] = backend.key.flatMap(health) ?? true
            }
        }
        return DestinationTable.fill(document) { t, b in lookup[t]?[b] ?? true }
    }
}
