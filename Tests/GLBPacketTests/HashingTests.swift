import GLBCore
import GLBPacket
import Testing

@Suite("Hash fields, alternate hash and the UDP source port")
struct HashingTests {
    static let table = Tables.table([Tables.bind("192.0.2.80", .tcp, 443), Tables.bind("2001:db8::80", .udp, 443)],
                                    (1...16).map { "10.2.0.\($0)" })

    static let allFieldSets: [HashFields] = (1..<16).map {
        HashFields(srcAddr: $0 & 1 != 0, dstAddr: $0 & 2 != 0, srcPort: $0 & 4 != 0, dstPort: $0 & 8 != 0)
    }

    /// The message of DESIGN §4 for these fields.
    static func message(_ f: HashFields, src: String, dst: String, sport: Int, dport: Int) -> [[UInt8]] {
        var m: [[UInt8]] = []
        if f.srcAddr { m.append(IPAddress(src)!.bytes) }
        if f.dstAddr { m.append(IPAddress(dst)!.bytes) }
        if f.srcPort { m.append(Build.be16(sport)) }
        if f.dstPort { m.append(Build.be16(dport)) }
        return m
    }

    @Test("every combination of hash_fields picks the row of its message, IPv4", arguments: allFieldSets)
    func ipv4(fields: HashFields) throws {
        let h = try Harness(tables: [Self.table]) { $0.hashFields = fields }
        for i in 0..<20 {
            let src = "198.18.\(i).\(i * 7 % 250 + 1)", sport = 1024 + i * 977
            let out = h.run(Build.tcp4(src, sport, "192.0.2.80", 443))
            let hash = Expected.hash(key: Self.table.hashKey, Self.message(fields, src: src, dst: "192.0.2.80", sport: sport, dport: 443))
            let r = h.route(table: 0, hash: hash)
            let e = Encapsulated(bytes: out.bytes)
            #expect(e.outerDestination == r.primary && e.hops == [r.secondary])
            #expect(e.udpSourcePort == 0x8000 | Int((hash ^ UInt64(sport)) & 0x7fff))
        }
    }

    @Test("every combination of hash_fields picks the row of its message, IPv6", arguments: allFieldSets)
    func ipv6(fields: HashFields) throws {
        let h = try Harness(tables: [Self.table]) { $0.hashFields = fields }
        for i in 0..<20 {
            let src = "2001:db8:c::\(i * 31 + 1)", sport = 2000 + i * 311
            let frame = Build.ethernet(Build.ipv6(src: src, dst: "2001:db8::80", next: 17, Build.udp(sport: sport, dport: 443)), type: 0x86DD)
            let out = h.run(frame)
            let hash = Expected.hash(key: Self.table.hashKey, Self.message(fields, src: src, dst: "2001:db8::80", sport: sport, dport: 443))
            let r = h.route(table: 0, hash: hash)
            #expect(out.bytes == Expected.frame(inner: Array(frame[14...]), hash: hash, hint: sport, route: [r.primary, r.secondary], innerIsIPv6: true))
        }
    }

    @Test("alt_hash_fields adds the alternate route as hops three and four")
    func alternate() throws {
        let fields = HashFields(srcAddr: true, srcPort: true), alt = HashFields.sourceAddress
        let h = try Harness(tables: [Self.table]) { $0.hashFields = fields; $0.altHashFields = alt }
        var differing = 0
        for i in 0..<50 {
            let src = "198.19.\(i).9", sport = 30000 + i
            let frame = Build.tcp4(src, sport, "192.0.2.80", 443)
            let out = h.run(frame)
            let first = Expected.hash(key: Self.table.hashKey, Self.message(fields, src: src, dst: "192.0.2.80", sport: sport, dport: 443))
            let second = Expected.hash(key: Self.table.hashKey, Self.message(alt, src: src, dst: "192.0.2.80", sport: sport, dport: 443))
            let r1 = h.route(table: 0, hash: first), r2 = h.route(table: 0, hash: second)
            #expect(out.bytes == Expected.frame(inner: Array(frame[14...]), hash: first, hint: sport,
                                                route: [r1.primary, r1.secondary, r2.primary, r2.secondary], innerIsIPv6: false))
            #expect(out.bytes[42] == 4 && out.bytes[49] == 3)
            if r1.primary != r2.primary { differing += 1 }
        }
        #expect(differing > 0)
    }

    @Test("non-first fragments: forwarded when hashing addresses only and one table binds the address")
    func fragments() throws {
        let other = Tables.table([Tables.bind("192.0.2.80", .tcp, 8443)], ["10.3.0.1"])
        let fragment = Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, [UInt8](repeating: 7, count: 64), fragment: 0x00b9), type: 0x0800)
        let byAddress = try Harness(tables: [Self.table])
        let out = byAddress.run(fragment)
        #expect(out.result.action == .forward)
        let hash = Expected.hash(key: Self.table.hashKey, [IPAddress("203.0.113.7")!.bytes])
        #expect(out.bytes == Expected.frame(inner: Array(fragment[14...]), hash: hash, hint: 0,
                                            route: [byAddress.route(table: 0, hash: hash).primary, byAddress.route(table: 0, hash: hash).secondary], innerIsIPv6: false))
        #expect(byAddress.counters[.forwardedFragment] == 1)
        // The first fragment carries ports and goes the normal way, to the same backend.
        let first = Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 5555, dport: 443), fragment: 0x2000), type: 0x0800)
        #expect(Array(byAddress.run(first).bytes[30..<34]) == Array(out.bytes[30..<34]))

        let byPort = try Harness(tables: [Self.table]) { $0.hashFields = HashFields(srcAddr: true, srcPort: true) }
        #expect(byPort.run(fragment).result.action == .drop)
        #expect(byPort.counters[.unroutableFragment] == 1)
        let altByPort = try Harness(tables: [Self.table]) { $0.altHashFields = HashFields(dstPort: true) }
        #expect(altByPort.run(fragment).result.action == .drop)
        let ambiguous = try Harness(tables: [Self.table, other])
        #expect(ambiguous.run(fragment).result.action == .drop)
        #expect(ambiguous.counters[.unroutableFragment] == 1)

        // IPv6: a fragment header with a non-zero offset.
        let v6fragment = Build.ethernet(Build.ipv6(src: "2001:db8:c::1", dst: "2001:db8::80", next: 44, [17, 0, 0x05, 0x00, 0, 0, 0, 1] + [UInt8](repeating: 1, count: 24)), type: 0x86DD)
        #expect(byAddress.run(v6fragment).result.action == .forward)
        #expect(byPort.run(v6fragment).result.action == .drop)
    }

    @Test("the outer UDP checksum is valid when udp_checksum is on, zero otherwise")
    func udpChecksum() throws {
        let on = try Harness(tables: [Self.table]) { $0.udpChecksum = true }
        let off = try Harness(tables: [Self.table])
        // Every length modulo 16 (the checksum loop takes 16 bytes at a time), and a long one.
        let payloads = [[UInt8](), [1], [1, 2, 3], [UInt8](repeating: 0xff, count: 1001)]
            + (4..<24).map { n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) } }
        for (i, payload) in payloads.enumerated() {
            let frame = Build.ethernet(Build.ipv4(src: "203.0.113.\(i + 1)", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 1000 + i, dport: 443, payload: payload)), type: 0x0800)
            let a = on.run(frame).bytes, b = off.run(frame).bytes
            #expect(b[40] == 0 && b[41] == 0)
            #expect(a[40] != 0 || a[41] != 0)
            // The checksum over pseudo-header + UDP datagram (including the checksum) is 0.
            let udp = Array(a[34...])
            let pseudo = Array(a[26..<34]) + [0, 17] + Build.be16(udp.count)
            #expect(Build.checksum(pseudo + udp) == 0)
            var zeroed = a
            zeroed[40] = 0; zeroed[41] = 0
            #expect(zeroed == b)
        }
    }

    @Test("the outer IPv4 header checksum is valid")
    func ipChecksum() throws {
        let h = try Harness(tables: [Self.table])
        for i in 0..<50 {
            let out = h.run(Build.tcp4("198.18.1.\(i + 1)", 1000 + i, "192.0.2.80", 443))
            #expect(Build.checksum(Array(out.bytes[14..<34])) == 0)
        }
    }
}

extension HashFields: CustomTestStringConvertible {
    public var testDescription: String { description }
}
