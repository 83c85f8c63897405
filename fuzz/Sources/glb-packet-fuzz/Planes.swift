import GLBCore
import GLBPacket

/// The tables and configurations the fuzzer chooses from, and the planes built from them
/// (lazily: each on its first use, then kept).
///
/// Table set 0 (the seeds' usual target):
///   table 0: 192.0.2.10 tcp 80, tcp 443, udp 53; 2001:db8::10 tcp 443, udp 443; backends 10.1.0.1-4
///   table 1: 198.51.100.0/24 udp 5000-5100; 192.0.2.11 tcp 443; 2001:db8:1::/48 tcp 1-65535;
///            backends 10.2.0.1-3
/// Table set 1 (overlaps; IPv4 and IPv6 backends, so IPv4, IPv6 and unusable mixed routes;
/// tunnel_mtu 1280 with a bucket of 4 answers, so path MTU answers and their limit):
///   table 0: 192.0.2.0/24 tcp 0-65535; 2001:db8::/32 udp 53; backends 10.3.0.1-2, 2001:db8:b::1-2
///   table 1: 192.0.2.10 tcp 443; 192.0.2.10 tcp 400-500; 2001:db8::10 tcp 443; 192.0.2.0/24 udp 53;
///            backends 10.4.0.1-2
enum Planes {
    static let gatewayMAC: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    static let sourceIP: [UInt8] = [10, 255, 255, 1]
    static let sourceIPv6 = IPAddress("2001:db8:d::1")!
    /// Table set 1's tunnel_mtu.
    static let tunnelMTU = 1280
    /// The port's MAC; the seeds' frames are addressed to it.
    static let portMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]
    static let portMACWords: (UInt32, UInt16) = MACAddress(bytes: portMAC)!.packetWords

    /// How many director configurations byte 0 can choose: its configuration bits are the low
    /// ones (bits 0-5), so every value up to their mask is one.
    static let configurations = InputBits.configuration + 1

    private nonisolated(unsafe) static var tables: [CompiledForwardingTable?] = [nil, nil]
    private nonisolated(unsafe) static var planes = [ForwardingPlane?](repeating: nil, count: 2 * configurations)

    static func plane(tableSet: Int, configuration: Int) -> ForwardingPlane {
        let slot = tableSet * configurations + configuration
        if let plane = planes[slot] { return plane }
        let plane: ForwardingPlane
        do {
            plane = try ForwardingPlane(table: compiled(tableSet), config: config(configuration, tableSet: tableSet))
        } catch {
            fatalError("glb-packet-fuzz: cannot build the plane: \(error)")
        }
        planes[slot] = plane
        return plane
    }

    static func config(_ c: Int, tableSet: Int) -> DirectorConfig {
        var config = DirectorConfig(outboundGatewayMAC: MACAddress(bytes: gatewayMAC)!, outboundSourceIP: IPAddress(family: .ipv4, bytes: sourceIP)!,
                                    outboundSourceIPv6: sourceIPv6)
        if tableSet == 1 {
            config.tunnelMTU = tunnelMTU
            config.icmpTooBigBurst = 4
            config.icmpTooBigRate = 1
        }
        switch c & InputBits.hashChoice {
        case InputBits.hashSrcDst: config.hashFields = HashFields(srcAddr: true, dstAddr: true)
        case InputBits.hashAll: config.hashFields = HashFields(srcAddr: true, dstAddr: true, srcPort: true, dstPort: true)
        case InputBits.hashSrcPort: config.hashFields = HashFields(srcAddr: true, srcPort: true)
        default: config.hashFields = .sourceAddress
        }
        if c & InputBits.altHash != 0 { config.altHashFields = .sourceAddress }
        config.udpChecksum = c & InputBits.udpChecksum != 0
        config.dropForeignDestinationMAC = c & InputBits.dropForeign != 0
        config.forwardICMPPingResponses = c & InputBits.noEcho == 0
        return config
    }

    static func compiled(_ set: Int) -> CompiledForwardingTable {
        if let table = tables[set] { return table }
        let table = RendezvousCompiler.compile(ForwardingTableConfig(tables: set == 0 ? services : overlapping))
        tables[set] = table
        return table
    }

    static func bind(_ ip: String, _ proto: BindProtocol, _ ports: ClosedRange<Int>) -> Bind {
        Bind(address: IPAddress(ip)!, proto: proto, portStart: UInt16(ports.lowerBound), portEnd: UInt16(ports.upperBound))
    }

    static func prefix(_ ip: String, _ length: Int, _ proto: BindProtocol, _ ports: ClosedRange<Int>) -> Bind {
        Bind(address: IPAddress(ip)!, prefixLength: length, proto: proto, portStart: UInt16(ports.lowerBound), portEnd: UInt16(ports.upperBound))
    }

    static func table(_ n: UInt64, _ binds: [Bind], _ backends: [String]) -> TableConfig {
        TableConfig(name: nil, hashKey: SipHashKey(k0: 0x0011_2233_4455_6677 &+ n, k1: 0x8899_aabb_ccdd_eeff ^ n),
                    seed: SipHashKey(k0: 0xffee_ddcc_bbaa_9988 ^ n, k1: 0x7766_5544_3322_1100 &+ n), binds: binds,
                    backends: backends.map { Backend(address: IPAddress($0)!, state: .active, healthy: true) })
    }

    static let services = [
        table(0, [bind("192.0.2.10", .tcp, 80...80), bind("192.0.2.10", .tcp, 443...443), bind("192.0.2.10", .udp, 53...53),
                  bind("2001:db8::10", .tcp, 443...443), bind("2001:db8::10", .udp, 443...443)],
              ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"]),
        table(1, [prefix("198.51.100.0", 24, .udp, 5000...5100), bind("192.0.2.11", .tcp, 443...443), prefix("2001:db8:1::", 48, .tcp, 1...65535)],
              ["10.2.0.1", "10.2.0.2", "10.2.0.3"]),
    ]

    static let overlapping = [
        table(2, [prefix("192.0.2.0", 24, .tcp, 0...65535), prefix("2001:db8::", 32, .udp, 53...53)], ["10.3.0.1", "10.3.0.2", "2001:db8:b::1", "2001:db8:b::2"]),
        table(3, [bind("192.0.2.10", .tcp, 443...443), bind("192.0.2.10", .tcp, 400...500), bind("2001:db8::10", .tcp, 443...443),
                  prefix("192.0.2.0", 24, .udp, 53...53)],
              ["10.4.0.1", "10.4.0.2"]),
    ]
}
