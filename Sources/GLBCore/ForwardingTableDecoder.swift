/// Reads `forwarding_table.json` into a `ForwardingTableConfig`, checking every field and
/// collecting all problems at once rather than stopping at the first.

extension ForwardingTableConfig: ConfigFile {
    public static let sizeLimit = 64 << 20

    public static func read(_ document: JSONValue, _ reader: inout ConfigReader) -> ForwardingTableConfig? {
        reader.readForwardingTable(document)
    }
}

/// Reads a forwarding table into the reader: every problem is reported, and reading goes on.
private extension ConfigReader {

    mutating func readForwardingTable(_ json: JSONValue) -> ForwardingTableConfig? {
        guard let root = rootObject(json, with: "a \"tables\" array") else { return nil }
        guard let tablesValue = root["tables"] else {
            error("tables", "missing: the file must contain a \"tables\" array listing each forwarding table")
            return nil
        }
        guard case .array(let tableValues) = tablesValue else {
            error("tables", "expected an array of tables, got \(tablesValue.kindName)")
            return nil
        }
        if tableValues.isEmpty {
            warning("tables", "no tables: the director will forward nothing")
        }
        if tableValues.count > TableLimits.maxTables {
            error("tables", "\(tableValues.count) tables, a director serves at most \(TableLimits.maxTables)")
            return nil
        }
        var tables: [TableConfig] = []
        for (index, value) in tableValues.enumerated() {
            tableIndex = index
            tableName = nil
            if let table = readTable(value) { tables.append(table) }
        }
        tableIndex = nil
        tableName = nil
        return ForwardingTableConfig(tables: tables)
    }

    mutating func readTable(_ value: JSONValue) -> TableConfig? {
        guard case .object(let object) = value else {
            error(nil, "expected a table object, got \(value.kindName)")
            return nil
        }
        var name: String?
        if let nameValue = object["name"] {
            if case .string(let s) = nameValue { name = s; tableName = s } else { error("name", "expected a string, got \(nameValue.kindName)") }
        }
        warnUnknownKeys(object, known: ["name", "hash_key", "seed", "binds", "backends", "healthchecks"], at: nil)

        let hashKey = readKey(object, "hash_key")
        let seed = readKey(object, "seed")
        let binds = readBinds(object)
        let backends = readBackends(object)

        guard let hashKey, let seed, let binds, let backends else { return nil }
        return TableConfig(name: name, hashKey: hashKey, seed: seed, binds: binds, backends: backends)
    }

    mutating func readKey(_ object: JSONObject, _ field: String) -> SipHashKey? {
        guard let value = object[field] else {
            error(field, "missing: expected 32 hexadecimal digits (16 bytes)")
            return nil
        }
        guard case .string(let text) = value else {
            error(field, "expected a string of 32 hexadecimal digits, got \(value.kindName)")
            return nil
        }
        guard text.utf8.count == 32, let bytes = Hex.decode(text) else {
            error(field, "expected 32 hexadecimal digits (16 bytes), got \"\(text)\" (\(text.count) characters)")
            return nil
        }
        return SipHashKey(bytes: bytes)
    }

    mutating func readBinds(_ object: JSONObject) -> [Bind]? {
        guard let value = object["binds"] else {
            error("binds", "missing: expected an array of binds ({\"ip\", \"proto\", \"port\"})")
            return nil
        }
        guard case .array(let items) = value else {
            error("binds", "expected an array, got \(value.kindName)")
            return nil
        }
        if items.count > TableLimits.maxBinds {
            error("binds", "\(items.count) binds, at most \(TableLimits.maxBinds) fit in a table")
            return nil
        }
        if items.isEmpty { warning("binds", "no binds: this table will receive no traffic") }
        var binds: [Bind] = []
        var ok = true
        var seen: [Bind: Int] = [:]
        for (i, item) in items.enumerated() {
            guard let bind = readBind(item, path: "binds[\(i)]") else { ok = false; continue }
            if let first = seen[bind] {
                warning("binds[\(i)]", "same bind as binds[\(first)] (\(bind))")
            } else {
                seen[bind] = i
            }
            binds.append(bind)
        }
        return ok ? binds : nil
    }

    mutating func readBind(_ value: JSONValue, path: String) -> Bind? {
        guard case .object(let object) = value else {
            error(path, "expected a bind object, got \(value.kindName)")
            return nil
        }
        warnUnknownKeys(object, known: ["ip", "proto", "port", "port_start", "port_end"], at: path)

        var address: IPAddress?
        var prefix: Int?
        switch object["ip"] {
        case nil:
            error("\(path).ip", "missing: expected an IPv4 or IPv6 address, or a CIDR prefix")
        case .string(let text)?:
            (address, prefix) = readPrefix(text, field: "\(path).ip")
        case let other?:
            error("\(path).ip", "expected a string, got \(other.kindName)")
        }

        var proto: BindProtocol?
        switch object["proto"] {
        case nil:
            error("\(path).proto", "missing: expected \"tcp\" or \"udp\"")
        case .string(let text)?:
            proto = BindProtocol(rawValue: text)
            if proto == nil { error("\(path).proto", "expected \"tcp\" or \"udp\", got \"\(text)\"") }
        case let other?:
            error("\(path).proto", "expected \"tcp\" or \"udp\", got \(other.kindName)")
        }

        var ports: (UInt16, UInt16)?
        if let portValue = object["port"] {
            if object["port_start"] != nil || object["port_end"] != nil {
                warning(path, "both \"port\" and \"port_start\"/\"port_end\" given; \"port\" is used (as GLB does)")
            }
            if let p = readPort(portValue, field: "\(path).port") { ports = (p, p) }
        } else if object["port_start"] != nil || object["port_end"] != nil {
            let start = object["port_start"].map { readPort($0, field: "\(path).port_start") }
                ?? { error("\(path).port_start", "missing: a range needs both port_start and port_end"); return nil }()
            let end = object["port_end"].map { readPort($0, field: "\(path).port_end") }
                ?? { error("\(path).port_end", "missing: a range needs both port_start and port_end"); return nil }()
            if let start, let end {
                if start > end {
                    error(path, "port_start \(start) is greater than port_end \(end)")
                } else {
                    ports = (start, end)
                }
            }
        } else {
            error(path, "missing port: expected \"port\" or \"port_start\" and \"port_end\"")
        }

        guard let address, let prefix, let proto, let ports else { return nil }
        return Bind(address: address, prefixLength: prefix, proto: proto, portStart: ports.0, portEnd: ports.1)
    }

    mutating func readPrefix(_ text: String, field: String) -> (IPAddress?, Int?) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else {
            error(field, "expected an IPv4 or IPv6 address, or a CIDR prefix like 192.0.2.0/24, got \"\(text)\"")
            return (nil, nil)
        }
        guard parts.count == 2 else { return (address, address.family.bitWidth) }
        let width = address.family.bitWidth
        guard let bits = Int(parts[1]), parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber) else {
            error(field, "expected a prefix length 0-\(width) after '/', got \"\(text)\"")
            return (nil, nil)
        }
        guard bits <= width else {
            error(field, "mask /\(bits) is too long for an \(address.family) address (at most /\(width))")
            return (nil, nil)
        }
        if address.masked(to: bits) != address {
            warning(field, "host bits are set after /\(bits); the bind matches \(address.masked(to: bits))/\(bits)")
        }
        return (address, bits)
    }

    mutating func readPort(_ value: JSONValue, field: String) -> UInt16? {
        guard case .integer(let p) = value else {
            error(field, "expected an integer port 0-65535, got \(ConfigReader.describe(value))")
            return nil
        }
        guard (0...65535).contains(p) else {
            error(field, "port \(p) is out of range (expected 0-65535)")
            return nil
        }
        return UInt16(p)
    }

    mutating func readBackends(_ object: JSONObject) -> [Backend]? {
        guard let value = object["backends"] else {
            error("backends", "missing: expected an array of backends ({\"ip\", \"state\", \"healthy\"})")
            return nil
        }
        guard case .array(let items) = value else {
            error("backends", "expected an array, got \(value.kindName)")
            return nil
        }
        if items.count > TableLimits.maxBackends {
            error("backends", "\(items.count) backends, at most \(TableLimits.maxBackends) fit in a table")
            return nil
        }
        var backends: [Backend] = []
        var ok = true
        var seen: [IPAddress: Int] = [:]
        for (i, item) in items.enumerated() {
            guard let backend = readBackend(item, path: "backends[\(i)]") else { ok = false; continue }
            if let first = seen[backend.address] {
                error("backends[\(i)].ip", "duplicate backend \(backend.address) (already backends[\(first)])")
                ok = false
            } else {
                seen[backend.address] = i
            }
            backends.append(backend)
        }
        guard ok else { return nil }
        if !backends.contains(where: { $0.state != .inactive }) {
            error("backends", backends.isEmpty
                ? "no backends: a table needs at least one backend that is not inactive"
                : "every backend is inactive: a table needs at least one backend that is not inactive")
            return nil
        }
        checkWeights(backends)
        return backends
    }

    /// Why an IPv4 address cannot be a backend's (a template left unfilled, a typo), or nil.
    static func unusableBackendAddress(_ v4: UInt32) -> String? {
        switch v4 {
        case 0: return "the unspecified address"
        case 0xFFFF_FFFF: return "the broadcast address"
        case _ where v4 >> 24 == 0: return "in 0.0.0.0/8 (\"this network\")"
        case _ where v4 >> 24 == 127: return "a loopback address"
        case _ where v4 >> 28 == 0xE: return "a multicast address"
        default: return nil
        }
    }

    /// Weights that do nothing, or that cannot be meant.
    mutating func checkWeights(_ backends: [Backend]) {
        let competing = backends.filter { $0.state != .inactive }
        let weighted = competing.filter { $0.weight != nil }.count
        if weighted > 0 && weighted < competing.count {
            warning("backends", "\(weighted) of \(competing.count) backends have a weight; the others weigh 1")
        }
        guard backends.contains(where: { $0.previousWeight != nil }) else { return }
        if competing.allSatisfy({ $0.effectivePreviousWeight == 0 }) {
            error("backends", "previous_weight: every backend has previous weight 0, so no backend had rows before; "
                         + "a first table needs no previous_weight")
        } else if competing.allSatisfy({ $0.effectivePreviousWeight == $0.effectiveWeight }) {
            warning("backends", "previous_weight: every backend's previous weight equals its weight, so no row moves")
        }
    }

    mutating func readBackend(_ value: JSONValue, path: String) -> Backend? {
        guard case .object(let object) = value else {
            error(path, "expected a backend object, got \(value.kindName)")
            return nil
        }
        warnUnknownKeys(object, known: ["ip", "state", "healthy", "healthchecks", "weight", "previous_weight"], at: path)

        var address: IPAddress?
        switch object["ip"] {
        case nil:
            error("\(path).ip", "missing: expected the backend's IPv4 address")
        case .string(let text)?:
            address = IPAddress(text)
            if address == nil { error("\(path).ip", "expected an IPv4 or IPv6 address, got \"\(text)\"") }
            if let v4 = address?.ipv4Value, let problem = Self.unusableBackendAddress(v4) {
                warning("\(path).ip", "\(text) is \(problem): no backend can have it, and the flows hashed to it are lost")
            }
        case let other?:
            error("\(path).ip", "expected a string, got \(other.kindName)")
        }

        var state: BackendState?
        let states = BackendState.allCases.map(\.rawValue).joined(separator: ", ")
        switch object["state"] {
        case nil:
            error("\(path).state", "missing: expected one of \(states)")
        case .string(let text)?:
            state = BackendState(rawValue: text)
            if state == nil { error("\(path).state", "expected one of \(states), got \"\(text)\"") }
        case let other?:
            error("\(path).state", "expected one of \(states), got \(other.kindName)")
        }

        let healthy: Bool?
        if object["healthy"] == nil {
            warning("\(path).healthy", "missing: the backend is treated as unhealthy (as GLB does)")
            healthy = false
        } else {
            healthy = bool(object, "healthy", at: path)
        }

        let weight = integer(object, "weight", at: path, in: 1...65535)
        let previousWeight = integer(object, "previous_weight", at: path, in: 0...65535)
        if let state, state == .inactive, previousWeight.map({ $0 > 0 }) == true {
            warning("\(path).previous_weight", "an inactive backend takes no rows; previous_weight has no effect here")
        }
        // A weight given but unusable (reported) leaves the backend out, as any other error does.
        let weightsRead = (weight != nil) == (object["weight"] != nil) && (previousWeight != nil) == (object["previous_weight"] != nil)

        guard let address, let state, let healthy, weightsRead else { return nil }
        return Backend(address: address, state: state, healthy: healthy, healthchecks: object["healthchecks"],
                       weight: weight, previousWeight: previousWeight)
    }
}

