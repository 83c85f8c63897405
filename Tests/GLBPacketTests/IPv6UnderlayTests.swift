import GLBCore
import GLBPacket
import Testing

/// Tables whose backends are IPv6: the outer IPv6 header, GLB private type 1 with 16-byte
/// hops, the mandatory UDP checksum (docs/design.md §3, "IPv6 underlay").
@Suite("IPv6 underlay")
struct IPv6UnderlayTests {
    static let source6 = IPAddress("2001:db8:d::1")!
    static let backends6 = ["2001:db8:b::1", "2001:db8:b::2", "2001:db8:b::3"]
    static let table6 = Tables.table([Tables.bind("192.0.2.80", .tcp, 443), Tables.bind("2001:db8::80", .tcp, 443)], backends6)

    static func harness(_ tables: [TableConfig] = [table6], _ configure: (inout DirectorConfig) -> Void = { _ in }) throws -> Harness {
        try Harness(tables: tables) {
            $0.outboundSourceIPv6 = source6
            configure(&$0)
        }
    }

    /// The frame docs/design.md §3 describes, field by field.
    static func expected(inner: [UInt8], hash: UInt64, hint: Int, route: [IPAddress], innerIsIPv6: Bool) -> [UInt8] {
        let hops = route.dropFirst()
        let udpLength = 8 + 4 + 4 + 16 * hops.count + inner.count
        let label = UInt32(truncatingIfNeeded: hash & 0xfffff)
        let ip = Build.be32(0x6000_0000 | label) + Build.be16(udpLength) + [17, 64] + source6.bytes + route[0].bytes
        let sport = 0x8000 | Int((hash ^ UInt64(hint)) & 0x7fff)
        let gue: [UInt8] = [UInt8(1 + 4 * hops.count), innerIsIPv6 ? 41 : 4, 0, 0, 0, 1, 0, UInt8(hops.count)] + hops.flatMap(\.bytes)
        let pseudo = source6.bytes + route[0].bytes + Build.be32(UInt32(udpLength)) + [0, 0, 0, 17]
        let udpWithoutSum = Build.be16(sport) + Build.be16(19523) + Build.be16(udpLength) + [0, 0]
        var sum = Build.checksum(pseudo + udpWithoutSum + gue + inner)
        if sum == 0 { sum = 0xffff }
        let udp = Build.be16(sport) + Build.be16(19523) + Build.be16(udpLength) + Build.be16(Int(sum))
        return Expected.gateway + Harness.portMAC + [0x86, 0xdd] + ip + udp + gue + inner
    }

    @Test("IPv4 and IPv6 clients to IPv6 backends: exact bytes", arguments: [false, true])
    func exactBytes(ipv6Client: Bool) throws {
        let h = try Self.harness()
        let frame = ipv6Client ? Build.tcp6("2001:db8:ffff::9", 51515, "2001:db8::80", 443) : Build.tcp4("203.0.113.7", 51515, "192.0.2.80", 443)
        let out = h.run(frame)
        #expect(out.result.action == .forward)
        let client = IPAddress(ipv6Client ? "2001:db8:ffff::9" : "203.0.113.7")!
        let hash = Expected.hash(key: Self.table6.hashKey, [client.bytes])
        let r = h.route(table: 0, hash: hash)
        #expect(r.primary.family == .ipv6 && r.primary != r.secondary)
        #expect(out.bytes == Self.expected(inner: Array(frame[14...]), hash: hash, hint: 51515, route: [r.primary, r.secondary], innerIsIPv6: ipv6Client))
        #expect(out.result.offset == 14 - (14 + 40 + 8 + 8 + 16))
        #expect(h.counters[.forwarded] == 1 && h.counters.forwarded(table: 0) == 1)
    }

    @Test("with alt_hash_fields the hop list is S1, P2, S2 in 16-byte hops")
    func altHashHops() throws {
        let h = try Self.harness { $0.altHashFields = HashFields(srcAddr: true, srcPort: true) }
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let out = h.run(frame)
        #expect(out.result.action == .forward)
        let hash = Expected.hash(key: Self.table6.hashKey, [IPAddress("203.0.113.7")!.bytes])
        let alt = Expected.hash(key: Self.table6.hashKey, [IPAddress("203.0.113.7")!.bytes, Build.be16(40000)])
        let r1 = h.route(table: 0, hash: hash), r2 = h.route(table: 0, hash: alt)
        #expect(out.bytes == Self.expected(inner: Array(frame[14...]), hash: hash, hint: 40000,
                                           route: [r1.primary, r1.secondary, r2.primary, r2.secondary], innerIsIPv6: false))
    }

    @Test("a table mixing families: one-family routes go out, mixed routes are counted as unusable")
    func mixedTable() throws {
        let mixed = Tables.table([Tables.bind("198.51.100.0/24", .udp, 53)], ["10.1.0.1", "10.1.0.2", "2001:db8:b::1", "2001:db8:b::2"])
        let h = try Self.harness([mixed])
        var seen: [String: Int] = [:]
        for i in 0..<256 {
            let client = "203.0.\(i / 250).\(i % 250 + 1)"
            let out = h.run(Build.ethernet(Build.ipv4(src: client, dst: "198.51.100.9", proto: 17, Build.udp(sport: 1000, dport: 53)), type: 0x0800))
            let r = h.route(table: 0, hash: Expected.hash(key: mixed.hashKey, [IPAddress(client)!.bytes]))
            switch (r.primary.family, r.secondary.family) {
            case (.ipv4, .ipv4):
                #expect(out.result.action == .forward && Array(out.bytes[12..<14]) == [0x08, 0x00])
                seen["ipv4", default: 0] += 1
            case (.ipv6, .ipv6):
                #expect(out.result.action == .forward && Array(out.bytes[12..<14]) == [0x86, 0xdd])
                seen["ipv6", default: 0] += 1
            default:
                #expect(out.result.action == .drop)
                seen["mixed", default: 0] += 1
            }
        }
        #expect(seen.count == 3, "every kind of route was exercised: \(seen)")
        #expect(h.counters[.unusableRoute] == UInt64(seen["mixed"] ?? 0))
        #expect(h.counters[.forwarded] == UInt64((seen["ipv4"] ?? 0) + (seen["ipv6"] ?? 0)))
    }

    @Test("a table needs the source address of its backends' family")
    func sourceAddressRequired() throws {
        let v6 = DirectorConfig(outboundGatewayMAC: MACAddress("52:54:00:12:34:56")!, outboundSourceIP: IPAddress("10.255.255.1")!)
        let compiled6 = RendezvousCompiler.compile(ForwardingTableConfig(tables: [Self.table6]))
        #expect(throws: PlaneError.self) { try ForwardingPlane(table: compiled6, config: v6) }
        do {
            _ = try ForwardingPlane(table: compiled6, config: v6)
        } catch {
            #expect(error.description.contains("outbound_src_ipv6"))
        }
        let v4only = Tables.table([Tables.bind("192.0.2.80", .tcp, 80)])
        let noV4Source = DirectorConfig(outboundGatewayMAC: MACAddress("52:54:00:12:34:56")!, outboundSourceIP: nil, outboundSourceIPv6: Self.source6)
        #expect(throws: PlaneError.self) { try ForwardingPlane(table: RendezvousCompiler.compile(ForwardingTableConfig(tables: [v4only])), config: noV4Source) }
        // An IPv6-only underlay needs no IPv4 source.
        _ = try ForwardingPlane(table: compiled6, config: noV4Source)
    }

    @Test("not enough headroom for the IPv6 encapsulation: a counted drop")
    func headroom() throws {
        let h = try Self.harness()
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        #expect(h.run(frame, headroom: 71).result.action == .drop)
        #expect(h.counters[.noHeadroom] == 1)
        #expect(h.run(frame, headroom: 72).result.action == .forward)
    }
}

/// With ports that compute UDP checksums, the packet path leaves the outer checksum to them.
@Suite("UDP checksum offload")
struct ChecksumOffloadTests {
    /// Finishes a checksum field holding the pseudo-header sum as the NIC does: adds the UDP
    /// header and payload, complements.
    static func finish(_ frame: [UInt8], udp: Int) -> [UInt8] {
        var out = frame
        let seed = Int(out[udp + 6]) << 8 | Int(out[udp + 7])
        out[udp + 6] = 0; out[udp + 7] = 0
        // Build.checksum returns the complement of the sum; undo that to add the seed.
        var sum = Int(~Build.checksum(Array(out[udp...])) & 0xffff) + seed
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        var c = ~UInt16(sum)
        if c == 0 { c = 0xffff }
        out[udp + 6] = UInt8(c >> 8); out[udp + 7] = UInt8(c & 0xff)
        return out
    }

    @Test("IPv6 underlay: the pseudo-header sum is left for the NIC, which completes the same checksum")
    func ipv6() throws {
        let table = IPv6UnderlayTests.table6
        let software = try IPv6UnderlayTests.harness()
        let compiled = RendezvousCompiler.compile(ForwardingTableConfig(tables: [table]))
        var config = DirectorConfig(outboundGatewayMAC: MACAddress("52:54:00:12:34:56")!, outboundSourceIP: IPAddress("10.255.255.1")!)
        config.outboundSourceIPv6 = IPv6UnderlayTests.source6
        let offloaded = try Harness(table: compiled, plane: ForwardingPlane(table: compiled, config: config, udpChecksumOffload: true))
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let a = software.run(frame), b = offloaded.run(frame)
        #expect(a.result.checksumOffload == .none && b.result.checksumOffload == .ipv6)
        #expect(a.bytes != b.bytes, "the checksum field differs before the NIC completes it")
        #expect(Self.finish(b.bytes, udp: 54) == a.bytes)
    }

    @Test("IPv4 with udp_checksum: likewise; without udp_checksum nothing is asked of the NIC")
    func ipv4() throws {
        let compiled = RendezvousCompiler.compile(ForwardingTableConfig(tables: [ClassificationTests.web]))
        var config = DirectorConfig(outboundGatewayMAC: MACAddress("52:54:00:12:34:56")!, outboundSourceIP: IPAddress("10.255.255.1")!)
        config.udpChecksum = true
        let software = try Harness(table: compiled, plane: ForwardingPlane(table: compiled, config: config))
        let offloaded = try Harness(table: compiled, plane: ForwardingPlane(table: compiled, config: config, udpChecksumOffload: true))
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let a = software.run(frame), b = offloaded.run(frame)
        #expect(b.result.checksumOffload == .ipv4 && Self.finish(b.bytes, udp: 34) == a.bytes)
        config.udpChecksum = false
        let off = try Harness(table: compiled, plane: ForwardingPlane(table: compiled, config: config, udpChecksumOffload: true))
        let c = off.run(frame)
        #expect(c.result.checksumOffload == .none && c.bytes[40] == 0 && c.bytes[41] == 0)
    }
}
