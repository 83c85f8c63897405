import GLBCore

/// The prefixes a director announces: every bind's address and prefix length, from the
/// forwarding table the director loads (so the VIPs are configured once, in the table).
public struct VIPRoutes: Equatable, Sendable {
    public var ipv4: [String]
    public var ipv6: [String]

    public init(ipv4: [String] = [], ipv6: [String] = []) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    /// The distinct prefixes of every bind of every table, host bits cleared, sorted.
    public init(table: CompiledForwardingTable) {
        var v4 = Set<IPAddress>(), v6 = Set<IPAddress>()
        var lengths: [IPAddress: Set<Int>] = [:]
        for bind in table.tables.flatMap(\.binds) {
            let network = bind.address.masked(to: bind.prefixLength)
            lengths[network, default: []].insert(bind.prefixLength)
            if network.family == .ipv4 { v4.insert(network) } else { v6.insert(network) }
        }
        func prefixes(_ set: Set<IPAddress>) -> [String] {
            set.sorted().flatMap { address in lengths[address, default: []].sorted().map { "\(address)/\($0)" } }
        }
        ipv4 = prefixes(v4)
        ipv6 = prefixes(v6)
    }

    public var count: Int { ipv4.count + ipv6.count }
    public var isEmpty: Bool { count == 0 }
}

/// The BIRD include files the announcer writes: one static route per prefix through the
/// announcer's interface. BIRD's `protocol static` with `check link` keeps such a route only
/// while that interface is up, so the interface alone decides what is announced, and the
/// routes vanish with it when the announcer dies.
public enum BirdInclude {
    public static func render(_ prefixes: [String], interface: String) -> String {
        var text = "# Written by glb-announce from the forwarding table's binds; do not edit.\n"
        for prefix in prefixes {
            text += "route \(prefix) via \"\(interface)\";\n"
        }
        return text
    }
}
