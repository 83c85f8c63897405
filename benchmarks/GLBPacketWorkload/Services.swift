import GLBCore
import GLBPacket

/// Forwarding tables and director configurations for the packet-path tools.
///
/// Address plan: IPv4 VIPs in 10.100.0.0/16 (table t uses 10.100.t.x), IPv6 VIPs in
/// 2001:db8:100:t::/64, backends in 10.1.t.0/24, clients in 198.18.0.0/15 and 2001:db8:c000::/36.
public enum Workload {
    public static let gatewayMAC = MACAddress("52:54:00:00:00:fe")!
    public static let sourceIP = IPAddress("10.255.0.1")!
    /// The MAC of the director's port: frames of the mix are addressed to it.
    public static let portMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x10]
    /// Another host's MAC on the same segment.
    public static let foreignMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x77]

    /// `portMAC` as the packet path takes it: the first four bytes and the last two, in memory order.
    public static var portMACWords: (UInt32, UInt16) { MACAddress(bytes: portMAC)!.packetWords }

    /// A director configuration with the given options.
    public static func config(hashFields: HashFields = .sourceAddress, altHashFields: HashFields? = nil,
                              udpChecksum: Bool = false, dropForeignDestinationMAC: Bool = false,
                              forwardEcho: Bool = true) -> DirectorConfig {
        var c = DirectorConfig(outboundGatewayMAC: gatewayMAC, outboundSourceIP: sourceIP)
        c.hashFields = hashFields
        c.altHashFields = altHashFields
        c.udpChecksum = udpChecksum
        c.dropForeignDestinationMAC = dropForeignDestinationMAC
        c.forwardICMPPingResponses = forwardEcho
        return c
    }

    static func ipv4VIP(table: Int, _ n: Int) -> IPAddress {
        IPAddress(ipv4: 0x0A64_0000 | UInt32(table & 0xff) << 8 | UInt32(n & 0xff))
    }

    static func ipv6VIP(table: Int, _ n: Int) -> IPAddress {
        var b: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0x00, UInt8(table & 0xff)] + [UInt8](repeating: 0, count: 8)
        b[14] = UInt8(truncatingIfNeeded: n >> 8)
        b[15] = UInt8(truncatingIfNeeded: n)
        return IPAddress(family: .ipv6, bytes: b)!
    }

    static func table(_ t: Int, binds: [Bind], backends: Int) -> TableConfig {
        // Distinct keys per table, derived from the table number.
        let hashKey = SipHashKey(k0: 0x0123_4567_89ab_cdef &+ UInt64(t) &* 0x9E37_79B9_7F4A_7C15, k1: 0x0fed_cba9_8765_4321 ^ UInt64(t))
        let seed = SipHashKey(k0: 0x5eed_0000_0000_0000 | UInt64(t), k1: 0xc0ff_ee00_0000_0000 | UInt64(t))
        let backendList = (1...backends).map {
            Backend(address: IPAddress(ipv4: 0x0A01_0000 | UInt32(t & 0xff) << 8 | UInt32($0)), state: .active, healthy: true)
        }
        return TableConfig(name: "service-\(t)", hashKey: hashKey, seed: seed, binds: binds, backends: backendList)
    }

    /// One table with a single IPv4 TCP bind (10.100.0.10:443): the common case.
    public static func singleIPv4Bind() -> [TableConfig] {
        [table(0, binds: [Bind(address: ipv4VIP(table: 0, 10), proto: .tcp, portStart: 443, portEnd: 443)], backends: 8)]
    }

    /// One table with a single IPv6 TCP bind ([2001:db8:100:0::10]:443).
    public static func singleIPv6Bind() -> [TableConfig] {
        [table(0, binds: [Bind(address: ipv6VIP(table: 0, 0x10), proto: .tcp, portStart: 443, portEnd: 443)], backends: 8)]
    }

    /// `total` IPv4 binds spread over `tables` tables: mostly single VIPs on port 80 or 443,
    /// every tenth a /28 with a port range, so the classifier has two prefix lengths.
    public static func manyIPv4Binds(total: Int, tables: Int) -> [TableConfig] {
        (0..<tables).map { t in
            let count = total / tables + (t < total % tables ? 1 : 0)
            let binds = (0..<count).map { i -> Bind in
                if i % 10 == 9 {
                    // 10.100.t.128/28 + 16 k: a prefix with a range of ports.
                    return Bind(address: ipv4VIP(table: t, 128 + 16 * ((i / 10) % 8)), prefixLength: 28, proto: .tcp,
                                portStart: 8000, portEnd: 8099)
                }
                return Bind(address: ipv4VIP(table: t, 1 + i), proto: .tcp, portStart: i % 2 == 0 ? 443 : 80, portEnd: i % 2 == 0 ? 443 : 80)
            }
            return table(t, binds: binds, backends: 8)
        }
    }

    /// `tables` services, each with an IPv4 VIP on TCP 80 and 443 and UDP 53, an IPv6 VIP on
    /// TCP and UDP 443, and a /24 on UDP 5000-5100: six binds per table.
    public static func mixedServices(tables: Int) -> [TableConfig] {
        (0..<tables).map { t in
            let v4 = ipv4VIP(table: t, 10), v6 = ipv6VIP(table: t, 0x10)
            let binds = [
                Bind(address: v4, proto: .tcp, portStart: 80, portEnd: 80),
                Bind(address: v4, proto: .tcp, portStart: 443, portEnd: 443),
                Bind(address: v4, proto: .udp, portStart: 53, portEnd: 53),
                Bind(address: v6, proto: .tcp, portStart: 443, portEnd: 443),
                Bind(address: v6, proto: .udp, portStart: 443, portEnd: 443),
                // 10.100.(100 + t).0/24: outside every table's single VIPs.
                Bind(address: IPAddress(ipv4: 0x0A64_6400 &+ UInt32(t) << 8), prefixLength: 24, proto: .udp, portStart: 5000, portEnd: 5100),
            ]
            return table(t, binds: binds, backends: 4 + 2 * t)
        }
    }
}
