import GLBCore
import GLBPacket
import Testing

/// The rules of docs/design.md §6, one by one, IPv4 and IPv6.
@Suite("Classification and encapsulation")
struct ClassificationTests {
    static let web = Tables.table([
        Tables.bind("192.0.2.80", .tcp, 80), Tables.bind("192.0.2.80", .tcp, 443),
        Tables.bind("2001:db8::80", .tcp, 443), Tables.bind("198.51.100.0/24", .udp, 5000, 5100),
        Tables.bind("2001:db8:1::/48", .udp, 53),
    ])

    func harness(_ configure: (inout DirectorConfig) -> Void = { _ in }) throws -> Harness {
        try Harness(tables: [Self.web], configure: configure)
    }

    @Test("IPv4 TCP to a bind: exact bytes of the encapsulation")
    func ipv4TCP() throws {
        let h = try harness()
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let out = h.run(frame)
        #expect(out.result.action == .forward)
        let inner = Array(frame[14...])
        let hash = Expected.hash(key: Self.web.hashKey, [IPAddress("203.0.113.7")!.bytes])
        let r = h.route(table: 0, hash: hash)
        #expect(out.bytes == Expected.frame(inner: inner, hash: hash, hint: 40000, route: [r.primary, r.secondary], innerIsIPv6: false))
        #expect(out.result.offset == 14 - 54)
        #expect(h.counters[.forwarded] == 1 && h.counters.forwarded(table: 0) == 1)
    }

    @Test("IPv6 TCP to a bind: exact bytes, GUE protocol 41")
    func ipv6TCP() throws {
        let h = try harness()
        let frame = Build.tcp6("2001:db8:ffff::9", 51515, "2001:db8::80", 443)
        let out = h.run(frame)
        let hash = Expected.hash(key: Self.web.hashKey, [IPAddress("2001:db8:ffff::9")!.bytes])
        let r = h.route(table: 0, hash: hash)
        #expect(out.bytes == Expected.frame(inner: Array(frame[14...]), hash: hash, hint: 51515, route: [r.primary, r.secondary], innerIsIPv6: true))
    }

    @Test("address, protocol and port must all match", arguments: [
        (Build.tcp4("203.0.113.7", 1, "192.0.2.80", 8080), Counter.notMatched),
        (Build.tcp4("203.0.113.7", 1, "192.0.2.81", 80), .notMatched),
        (Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 17, Build.udp(sport: 1, dport: 80)), type: 0x0800), .notMatched),
        (Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 47, [0, 0, 0, 0]), type: 0x0800), .notMatched),
        (Build.tcp6("2001:db8:ffff::9", 1, "2001:db8::80", 80), .notMatched),
        (Build.tcp6("2001:db8:ffff::9", 1, "2001:db8::81", 443), .notMatched),
        (Build.ethernet([0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 20), type: 0x0806), .notIP),
    ])
    func notMatched(frame: [UInt8], counter: Counter) throws {
        let h = try harness()
        let out = h.run(frame)
        #expect(out.result.action == .exception)
        #expect(out.bytes == frame)
        #expect(h.counters[counter] == 1)
    }

    @Test("CIDR binds and port ranges match inside and not outside", arguments: [
        ("198.51.100.0", 5000, true), ("198.51.100.255", 5100, true), ("198.51.100.77", 5050, true),
        ("198.51.101.1", 5000, false), ("198.51.99.255", 5000, false), ("198.51.100.1", 4999, false), ("198.51.100.1", 5101, false),
    ])
    func cidrAndRanges(dst: String, port: Int, forwarded: Bool) throws {
        let h = try harness()
        let frame = Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: dst, proto: 17, Build.udp(sport: 999, dport: port)), type: 0x0800)
        #expect(h.run(frame).result.action == (forwarded ? .forward : .exception))
    }

    @Test("IPv6 prefix binds", arguments: [("2001:db8:1::1", true), ("2001:db8:1:ffff::1", true), ("2001:db8:2::1", false)])
    func ipv6Prefix(dst: String, forwarded: Bool) throws {
        let h = try harness()
        let frame = Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: dst, next: 17, Build.udp(sport: 999, dport: 53)), type: 0x86DD)
        #expect(h.run(frame).result.action == (forwarded ? .forward : .exception))
    }

    @Test("ICMPv4 fragmentation-needed quoting a VIP's packet goes to the flow's backend")
    func icmpv4FragmentationNeeded() throws {
        let h = try harness { $0.hashFields = HashFields(srcAddr: true, dstAddr: true, srcPort: true, dstPort: true) }
        // The backend (as the VIP) sent 192.0.2.80:443 → client:40000; a router answers to the VIP.
        let quoted = Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 40000, flags: 0x10))
        let icmp = Build.ethernet(Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, rest: [0, 0, 5, 0xdc], Array(quoted.prefix(28)))), type: 0x0800)
        let flow = h.run(Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443))
        let error = h.run(icmp)
        #expect(error.result.action == .forward)
        #expect(h.counters[.forwardedICMPError] == 1)
        // Same hash input as the client's packets, so the same route and UDP source port.
        #expect(Array(error.bytes[30..<34]) == Array(flow.bytes[30..<34]))
        #expect(Array(error.bytes[34..<36]) == Array(flow.bytes[34..<36]))
        #expect(Array(error.bytes[50..<54]) == Array(flow.bytes[50..<54]))
        #expect(Encapsulated(bytes: error.bytes).inner == Array(icmp[14...]))
    }

    @Test("ICMP errors that do not quote a bound flow are not forwarded", arguments: [
        // quoted source port not bound
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 22, dport: 4000)).prefix(28)))),
        // quoted protocol differs from the bind's
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 17, Build.udp(sport: 443, dport: 4000)).prefix(28)))),
        // addressed elsewhere than the quoted VIP
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.81", proto: 1, Build.icmp(type: 3, code: 4, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 4000)).prefix(28)))),
        // another unreachable code
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 1, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 4000)).prefix(28)))),
        // the quoted packet is a fragment after the first: the "ports" there are payload
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 4000), fragment: 185).prefix(28)))),
        // time exceeded
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 11, code: 0, Array(Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 4000)).prefix(28)))),
        // echo reply
        Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 0, code: 0)),
    ])
    func icmpNotForwarded(ip: [UInt8]) throws {
        let h = try harness()
        #expect(h.run(Build.ethernet(ip, type: 0x0800)).result.action == .exception)
        #expect(h.counters[.notMatched] == 1)
    }

    @Test("ICMPv6 packet-too-big quoting a VIP's packet goes to the flow's backend")
    func icmpv6PacketTooBig() throws {
        let h = try harness { $0.hashFields = HashFields(srcAddr: true, srcPort: true) }
        let quoted = Build.ipv6(src: "2001:db8::80", dst: "2001:db8:ffff::9", next: 6, Build.tcp(sport: 443, dport: 51515, flags: 0x10))
        let icmp = Build.ethernet(Build.ipv6(src: "2001:db8:fe::1", dst: "2001:db8::80", next: 58, Build.icmp(type: 2, code: 0, rest: [0, 0, 5, 0], quoted)), type: 0x86DD)
        let flow = h.run(Build.tcp6("2001:db8:ffff::9", 51515, "2001:db8::80", 443))
        let error = h.run(icmp)
        #expect(error.result.action == .forward)
        #expect(Array(error.bytes[30..<36]) == Array(flow.bytes[30..<36]))
        #expect(error.bytes[43] == 41)
        // A quoted packet cut short is malformed, not a crash.
        let cut = Build.ethernet(Build.ipv6(src: "2001:db8:fe::1", dst: "2001:db8::80", next: 58, Build.icmp(type: 2, code: 0, Array(quoted.prefix(42)))), type: 0x86DD)
        #expect(h.run(cut).result.action == .drop)
        #expect(h.counters[.malformedICMP] == 1)
    }

    @Test("ICMP echo requests to a bound address follow forward_icmp_ping_responses")
    func echo() throws {
        let on = try harness()
        let off = try harness { $0.forwardICMPPingResponses = false }
        let v4 = Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 1, Build.icmp(type: 8, code: 0), id: 0x4242), type: 0x0800)
        let v6 = Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 58, Build.icmp(type: 128, code: 0), flowLabel: 0xabcde), type: 0x86DD)
        let out4 = on.run(v4), out6 = on.run(v6)
        #expect(out4.result.action == .forward && out6.result.action == .forward)
        #expect(on.counters[.forwardedEcho] == 2)
        let h4 = Expected.hash(key: Self.web.hashKey, [IPAddress("203.0.113.7")!.bytes])
        #expect(Encapsulated(bytes: out4.bytes).udpSourcePort == 0x8000 | Int((h4 ^ 0x4242) & 0x7fff))
        let h6 = Expected.hash(key: Self.web.hashKey, [IPAddress("2001:db8:ffff::9")!.bytes])
        #expect(Encapsulated(bytes: out6.bytes).udpSourcePort == 0x8000 | Int((h6 ^ 0xbcde) & 0x7fff))
        #expect(off.run(v4).result.action == .exception && off.run(v6).result.action == .exception)
        // Echo to an address without a bind, and echo replies, are not forwarded.
        #expect(on.run(Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.99", proto: 1, Build.icmp(type: 8, code: 0)), type: 0x0800)).result.action == .exception)
        #expect(on.run(Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 58, Build.icmp(type: 129, code: 0)), type: 0x86DD)).result.action == .exception)
    }

    @Test("overlapping binds: most specific prefix, then narrowest range, then first table")
    func precedence() throws {
        let wide = Tables.table([Tables.bind("192.0.2.0/24", .tcp, 0, 65535), Tables.bind("192.0.2.10", .tcp, 1, 1000)], ["10.9.0.1"])
        let exact = Tables.table([Tables.bind("192.0.2.10", .tcp, 0, 65535)], ["10.9.0.2"])
        let narrow = Tables.table([Tables.bind("192.0.2.10", .tcp, 443)], ["10.9.0.3"])
        let same = Tables.table([Tables.bind("192.0.2.10", .tcp, 443)], ["10.9.0.4"])
        let h = try Harness(tables: [wide, exact, narrow, same])
        func backend(_ dst: String, _ port: Int) -> IPAddress? {
            let out = h.run(Build.tcp4("203.0.113.7", 1234, dst, port))
            return out.result.action == .forward ? Encapsulated(bytes: out.bytes).outerDestination : nil
        }
        #expect(backend("192.0.2.11", 443) == IPAddress("10.9.0.1"))   // only the /24
        #expect(backend("192.0.2.10", 443) == IPAddress("10.9.0.3"))   // /32, narrowest range, first of two equal
        #expect(backend("192.0.2.10", 80) == IPAddress("10.9.0.1"))    // /32 range 1-1000 beats /32 0-65535
        #expect(backend("192.0.2.10", 5000) == IPAddress("10.9.0.2"))  // only the /32 full range
    }

    @Test("hundreds of binds: every bound address finds its table, addresses next to them find none")
    func manyBinds() throws {
        // 4 tables of 80 exact IPv4 addresses, 4 IPv4 /28s and 8 IPv6 addresses: over 300 binds
        // in a slot table of 1,024, so that addresses share slots and lookups walk probe chains.
        let tables = (0..<4).map { t in
            Tables.table((0..<80).map { Tables.bind("10.\(100 + t).\($0 / 10).\($0 % 10 * 20 + 1)", .tcp, 443) }
                         + (0..<4).map { Tables.bind("172.16.\(t).\($0 * 64)/28", .udp, 53) }
                         + (0..<8).map { Tables.bind("2001:db8:\(t)::\($0 * 2 + 1)", .tcp, 443) },
                         ["10.9.\(t).1"])
        }
        let h = try Harness(tables: tables)
        func backend(_ frame: [UInt8]) -> IPAddress? {
            let out = h.run(frame)
            return out.result.action == .forward ? Encapsulated(bytes: out.bytes).outerDestination : nil
        }
        var found = 0, wrong: [String] = []
        for t in 0..<4 {
            let mine = IPAddress("10.9.\(t).1")
            for i in 0..<80 {
                let a = "10.\(100 + t).\(i / 10).\(i % 10 * 20 + 1)", neighbour = "10.\(100 + t).\(i / 10).\(i % 10 * 20 + 2)"
                if backend(Build.tcp4("203.0.113.7", 1234, a, 443)) == mine { found += 1 } else { wrong.append(a) }
                if backend(Build.tcp4("203.0.113.7", 1234, neighbour, 443)) != nil { wrong.append(neighbour) }
            }
            for i in 0..<4 {
                let inside = "172.16.\(t).\(i * 64 + 15)", outside = "172.16.\(t).\(i * 64 + 16)"
                let udp = { (dst: String) in Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: dst, proto: 17, Build.udp(sport: 999, dport: 53)), type: 0x0800) }
                if backend(udp(inside)) == mine { found += 1 } else { wrong.append(inside) }
                if backend(udp(outside)) != nil { wrong.append(outside) }
            }
            for i in 0..<8 {
                let a = "2001:db8:\(t)::\(i * 2 + 1)", neighbour = "2001:db8:\(t)::\(i * 2 + 2)"
                if backend(Build.tcp6("2001:db8:ffff::9", 1234, a, 443)) == mine { found += 1 } else { wrong.append(a) }
                if backend(Build.tcp6("2001:db8:ffff::9", 1234, neighbour, 443)) != nil { wrong.append(neighbour) }
            }
        }
        #expect(found == 4 * (80 + 4 + 8))
        #expect(wrong.isEmpty, "misclassified: \(wrong.prefix(10))")
    }

    @Test("one 802.1Q tag is tolerated; the outer frame is untagged")
    func vlan() throws {
        let h = try harness()
        let plain = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let tagged = Build.ethernet(Array(plain[14...]), type: 0x0800, vlan: 42)
        let a = h.run(plain), b = h.run(tagged)
        #expect(b.result.action == .forward && a.bytes == b.bytes)
        #expect(b.result.offset == 18 - 54)
        let qinq = Build.ethernet(Array(plain[14...]), type: 0x88a8, vlan: 42)
        #expect(h.run(qinq).result.action == .exception)
    }

    @Test("IPv4 options are honoured")
    func ipv4Options() throws {
        let h = try harness()
        let ip = Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 40000, dport: 443), options: [1, 1, 1, 0, 0x94, 4, 0, 0])
        let out = h.run(Build.ethernet(ip, type: 0x0800))
        #expect(out.result.action == .forward)
        #expect(Encapsulated(bytes: out.bytes).inner == ip)
        // With the options misread as TCP, port 443 would not be found.
        #expect(h.run(Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 40000, dport: 444), options: [1, 1, 1, 0, 0x94, 4, 1, 0xbb]), type: 0x0800)).result.action == .exception)
    }

    @Test("IPv6 extension headers are skipped to the transport header")
    func ipv6Extensions() throws {
        let h = try harness()
        let tcp = Build.tcp(sport: 40000, dport: 443)
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]           // next: destination options
        let destOpts: [UInt8] = [43, 1] + [UInt8](repeating: 0, count: 14)  // 16 bytes, next: routing
        let routing: [UInt8] = [6, 0, 0, 0, 0, 0, 0, 0]             // next: TCP
        let ip = Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 0, hopByHop + destOpts + routing + tcp)
        let out = h.run(Build.ethernet(ip, type: 0x86DD))
        #expect(out.result.action == .forward)
        // An authentication header counts its length in 4-byte words, minus two.
        let ah: [UInt8] = [6, 4, 0, 0] + Build.be32(0x1000) + Build.be32(1) + [UInt8](repeating: 0, count: 12)
        #expect(h.run(Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 51, ah + tcp), type: 0x86DD)).result.action == .forward)
        let truncated = Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 0, [60, 9, 0, 0, 0, 0, 0, 0])
        #expect(h.run(Build.ethernet(truncated, type: 0x86DD)).result.action == .drop)
        #expect(h.counters[.malformedIPv6Extension] == 1)
    }

    @Test("Ethernet padding after the IP packet is not copied into the tunnel")
    func padding() throws {
        let h = try harness()
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        let padded = frame + [UInt8](repeating: 0xee, count: 10)
        let out = h.run(padded)
        #expect(out.bytes == h.run(frame).bytes)
        #expect(out.result.length == 54 + 40)
    }

    @Test("drop_foreign_dst_mac keeps only frames for the port, broadcast or multicast")
    func foreignMAC() throws {
        let h = try harness { $0.dropForeignDestinationMAC = true }
        let inner = Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 40000, dport: 443))
        #expect(h.run(Build.ethernet(inner, type: 0x0800, dst: Harness.portMAC)).result.action == .forward)
        #expect(h.run(Build.ethernet(inner, type: 0x0800, dst: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).result.action == .forward)
        #expect(h.run(Build.ethernet(inner, type: 0x0800, dst: [0x33, 0x33, 0, 0, 0, 1])).result.action == .forward)
        #expect(h.run(Build.ethernet(inner, type: 0x0800, dst: [0x02, 0, 0, 0, 0, 0x99])).result.action == .drop)
        #expect(h.counters[.foreignDestinationMAC] == 1)
        // With another port transmitting, frames are judged by the receiving port's MAC.
        let rx: [UInt8] = [0x02, 0, 0, 0, 0, 0x55]
        let rxWords = MACAddress(bytes: rx)!.packetWords
        #expect(h.run(Build.ethernet(inner, type: 0x0800, dst: rx), receivingMAC: rxWords).result.action == .forward)
        let toTxPort = h.run(Build.ethernet(inner, type: 0x0800, dst: Harness.portMAC), receivingMAC: rxWords)
        #expect(toTxPort.result.action == .drop)
        #expect(h.counters[.foreignDestinationMAC] == 2)
        // Off by default: GLB forwards whatever the destination MAC.
        #expect(try harness().run(Build.ethernet(inner, type: 0x0800, dst: [0x02, 0, 0, 0, 0, 0x99])).result.action == .forward)
    }

    @Test("a route from an IPv4 backend to an IPv6 one fits no tunnel: counted and not sent")
    func mixedRoute() throws {
        let t = Tables.table([Tables.bind("192.0.2.80", .tcp, 80)], ["10.1.0.1", "2001:db8:b::1"])
        let h = try Harness(tables: [t]) { $0.outboundSourceIPv6 = IPAddress("2001:db8:d::1")! }
        #expect(h.run(Build.tcp4("203.0.113.7", 1, "192.0.2.80", 80)).result.action == .drop)
        #expect(h.counters[.unusableRoute] == 1)
    }

    @Test("without enough headroom the frame is dropped, not written out of bounds")
    func headroom() throws {
        let h = try harness()
        let frame = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
        #expect(h.run(frame, headroom: 39).result.action == .drop)
        #expect(h.counters[.noHeadroom] == 1)
        #expect(h.run(frame, headroom: 40).result.action == .forward)
    }
}
