/// The binary forwarding table's content (GLB format v2), as the director loads it.

/// A backend's state as the binary table stores it: draining and inactive share a code.
public enum BinaryBackendState: UInt16, Sendable, CustomStringConvertible {
    case filling = 0
    case active = 1
    case drainingOrInactive = 2

    public init(_ state: BackendState) {
        switch state {
        case .filling: self = .filling
        case .active: self = .active
        case .draining, .inactive: self = .drainingOrInactive
        }
    }

    public var description: String {
        switch self {
        case .filling: return "filling"
        case .active: return "active"
        case .drainingOrInactive: return "draining/inactive"
        }
    }
}

/// A backend slot of a compiled table.
public struct CompiledBackend: Hashable, Sendable {
    public var address: IPAddress
    public var state: BinaryBackendState
    public var healthy: Bool

    public init(address: IPAddress, state: BinaryBackendState, healthy: Bool) {
        self.address = address
        self.state = state
        self.healthy = healthy
    }
}

/// One of the 65,536 rows: positions of the primary and secondary in the backend list.
@frozen
public struct TableRow: Hashable, Sendable {
    public var primary: UInt32
    public var secondary: UInt32

    @inlinable
    public init(primary: UInt32, secondary: UInt32) {
        self.primary = primary
        self.secondary = secondary
    }
}

/// One compiled table.
public struct CompiledTable: Equatable, Sendable {
    public var backends: [CompiledBackend]
    public var binds: [Bind]
    public var hashKey: SipHashKey
    /// Exactly `TableLimits.rowCount` rows.
    public var rows: [TableRow]

    public init(backends: [CompiledBackend], binds: [Bind], hashKey: SipHashKey, rows: [TableRow]) {
        self.backends = backends
        self.binds = binds
        self.hashKey = hashKey
        self.rows = rows
    }

    /// How many rows each backend holds as primary and as secondary, by backend position.
    public func rowCounts() -> (primary: [Int], secondary: [Int]) {
        var primary = [Int](repeating: 0, count: backends.count)
        var secondary = [Int](repeating: 0, count: backends.count)
        for row in rows {
            primary[Int(row.primary)] += 1
            secondary[Int(row.secondary)] += 1
        }
        return (primary, secondary)
    }
}

/// A whole binary forwarding table file: its tables in JSON order.
public struct CompiledForwardingTable: Equatable, Sendable {
    public var tables: [CompiledTable]

    public init(tables: [CompiledTable]) {
        self.tables = tables
    }
}
