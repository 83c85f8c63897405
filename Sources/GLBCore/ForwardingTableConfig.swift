/// The forwarding-table source (`forwarding_table.json`) in GLB Director's schema.

/// A backend's administrative state, as written in the JSON.
public enum BackendState: String, Sendable, CaseIterable {
    /// Takes new and existing connections.
    case active
    /// Gives up its rows as primary: new connections go elsewhere, existing ones reach it by second chance.
    case draining
    /// Being added: takes rows as primary only where the old primary is unhealthy or draining.
    case filling
    /// Out of the table: does not compete for rows at all.
    case inactive
}

/// A bind's transport protocol.
public enum BindProtocol: String, Sendable, CaseIterable {
    case tcp
    case udp

    /// The IP protocol number (6 or 17).
    public var ipProtocol: UInt8 { self == .tcp ? 6 : 17 }

    public init?(ipProtocol: UInt8) {
        switch ipProtocol {
        case 6: self = .tcp
        case 17: self = .udp
        default: return nil
        }
    }
}

/// An address (or prefix), protocol and port range that a table serves.
public struct Bind: Hashable, Sendable, CustomStringConvertible {
    /// The address as written; when `prefixLength` is shorter than the address, the bits after
    /// the prefix are kept as written (GLB stores them) and ignored when matching.
    public var address: IPAddress
    public var prefixLength: Int
    public var proto: BindProtocol
    public var portStart: UInt16
    public var portEnd: UInt16

    public init(address: IPAddress, prefixLength: Int? = nil, proto: BindProtocol, portStart: UInt16, portEnd: UInt16) {
        self.address = address
        self.prefixLength = prefixLength ?? address.family.bitWidth
        self.proto = proto
        self.portStart = portStart
        self.portEnd = portEnd
    }

    /// True when the bind covers a single address rather than a prefix.
    public var isSingleAddress: Bool { prefixLength == address.family.bitWidth }

    public var description: String {
        let ip = isSingleAddress ? "\(address)" : "\(address)/\(prefixLength)"
        let ports = portStart == portEnd ? "\(portStart)" : "\(portStart)-\(portEnd)"
        let host = address.family == .ipv6 ? "[\(ip)]" : ip
        return "\(proto.rawValue) \(host):\(ports)"
    }
}

/// A backend server of a table.
public struct Backend: Equatable, Sendable {
    public var address: IPAddress
    public var state: BackendState
    /// A backend without `healthy` in the JSON is unhealthy (GLB's rule).
    public var healthy: Bool
    /// The `healthchecks` object, kept as written for the health checker.
    public var healthchecks: JSONValue?
    /// `weight` (1-65535) as written; a backend without it weighs 1.
    public var weight: Int?
    /// `previous_weight` (0-65535): its weight before the change this table makes (a
    /// transition table); nil: the same as its weight.
    public var previousWeight: Int?

    public init(address: IPAddress, state: BackendState, healthy: Bool, healthchecks: JSONValue? = nil,
                weight: Int? = nil, previousWeight: Int? = nil) {
        self.address = address
        self.state = state
        self.healthy = healthy
        self.healthchecks = healthchecks
        self.weight = weight
        self.previousWeight = previousWeight
    }

    /// The weight rows are given by.
    public var effectiveWeight: Int { weight ?? 1 }
    /// The weight the previous table gave (0: it took no rows).
    public var effectivePreviousWeight: Int { previousWeight ?? effectiveWeight }
}

/// One table of the source: a service with its binds and backends.
public struct TableConfig: Equatable, Sendable {
    public var name: String?
    /// Key of the per-packet hash (`hash_key`).
    public var hashKey: SipHashKey
    /// Key of the rendezvous hash that fills the rows (`seed`); not stored in the binary table.
    public var seed: SipHashKey
    public var binds: [Bind]
    public var backends: [Backend]

    public init(name: String? = nil, hashKey: SipHashKey, seed: SipHashKey, binds: [Bind], backends: [Backend]) {
        self.name = name
        self.hashKey = hashKey
        self.seed = seed
        self.binds = binds
        self.backends = backends
    }

    /// True when any backend has `previous_weight`: the table keeps each moved row's previous
    /// primary as its secondary.
    public var isTransition: Bool { backends.contains { $0.previousWeight != nil } }

    /// True when rows are given by weight: a transition table, or competing backends of unequal
    /// weight. Otherwise the rows are exactly GLB's.
    public var isWeighted: Bool {
        let competing = backends.filter { $0.state != .inactive }
        return isTransition || Set(competing.map(\.effectiveWeight)).count > 1
    }

    /// "table 0 (web)" or "table 0" when unnamed, as used in messages.
    public static func label(index: Int, name: String?) -> String {
        name.map { "table \(index) (\($0))" } ?? "table \(index)"
    }
}

/// A whole `forwarding_table.json`.
public struct ForwardingTableConfig: Equatable, Sendable {
    public var tables: [TableConfig]

    public init(tables: [TableConfig]) {
        self.tables = tables
    }
}

/// Limits of GLB's binary format, which fixes the number of slots per table.
public enum TableLimits {
    /// Tables one director serves (bounds memory and the per-table counters).
    public static let maxTables = 256
    public static let maxBackends = 256
    public static let maxBinds = 256
    public static let rowCount = 65536
}
