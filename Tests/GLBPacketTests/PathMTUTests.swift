import GLBCore
import GLBPacket
import Testing

/// `tunnel_mtu`: packets whose encapsulation would not fit are answered with ICMP
/// "fragmentation needed" / ICMPv6 "packet too big" from the VIP (docs/glb-director.md,
/// "Path MTU"), checked field by field against RFC 792/1191 and RFC 4443.
@Suite("Path MTU")
struct PathMTUTests {
    static let web = Tables.table([Tables.bind("192.0.2.80", .tcp, 443), Tables.bind("2001:db8::80", .tcp, 443)])
    static let dontFragment = 0x4000

    static func harness(mtu: Int? = 1500, burst: Int = 50, _ configure: (inout DirectorConfig) -> Void = { _ in }) throws -> Harness {
        try Harness(tables: [web]) {
            $0.tunnelMTU = mtu
            $0.icmpTooBigBurst = burst
            configure(&$0)
        }
    }

    /// A TCP segment to the VIP whose IPv4 packet is `total` bytes.
    static func tcp4(total: Int, flags: Int = dontFragment) -> [UInt8] {
        let payload = [UInt8](repeating: 0xab, count: total - 40)
        return Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 40000, dport: 443, flags: 0x10, payload: payload),
                                         fragment: flags), type: 0x0800)
    }

    /// A TCP segment to the IPv6 VIP whose IPv6 packet is `total` bytes.
    static func tcp6(total: Int) -> [UInt8] {
        let payload = [UInt8](repeating: 0xcd, count: total - 60)
        return Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 6, Build.tcp(sport: 51515, dport: 443, flags: 0x10, payload: payload)),
                              type: 0x86DD)
    }

    /// The answer RFC 792 and RFC 1191 describe, field by field.
    static func fragmentationNeeded(quoting inner: [UInt8], mtu: Int) -> [UInt8] {
        let quote = Array(inner.prefix(28))
        var icmp: [UInt8] = [3, 4, 0, 0, 0, 0] + Build.be16(mtu) + quote
        let c = Build.checksum(icmp)
        icmp[2] = UInt8(c >> 8); icmp[3] = UInt8(c & 0xff)
        var ip: [UInt8] = [0x45, 0xc0] + Build.be16(20 + icmp.count) + [0, 0, 0x40, 0, 64, 1, 0, 0]
        ip += IPAddress("192.0.2.80")!.bytes + IPAddress("203.0.113.7")!.bytes
        let ipSum = Build.checksum(ip)
        ip[10] = UInt8(ipSum >> 8); ip[11] = UInt8(ipSum & 0xff)
        return Build.clientMAC + Harness.portMAC + [0x08, 0x00] + ip + icmp
    }

    /// The answer RFC 4443 §3.2 describes, field by field.
    static func packetTooBig(quoting inner: [UInt8], mtu: Int) -> [UInt8] {
        let quote = Array(inner.prefix(1232))
        let vip = IPAddress("2001:db8::80")!.bytes, client = IPAddress("2001:db8:ffff::9")!.bytes
        var icmp: [UInt8] = [2, 0, 0, 0] + Build.be32(UInt32(mtu)) + quote
        let c = Build.checksum(vip + client + Build.be32(UInt32(icmp.count)) + [0, 0, 0, 58] + icmp)
        icmp[2] = UInt8(c >> 8); icmp[3] = UInt8(c & 0xff)
        let ip: [UInt8] = [0x60, 0, 0, 0] + Build.be16(icmp.count) + [58, 64] + vip + client
        return Build.clientMAC + Harness.portMAC + [0x86, 0xdd] + ip + icmp
    }

    @Test("an IPv4 packet that fits exactly is forwarded; one byte more is answered, exact bytes")
    func ipv4Boundary() throws {
        let h = try Self.harness()
        let fits = h.run(Self.tcp4(total: 1460))
        #expect(fits.result.action == .forward && fits.result.length == 14 + 1500)
        let big = Self.tcp4(total: 1461)
        let out = h.run(big)
        #expect(out.result.action == .reply)
        #expect(out.result.offset == 14 - 42)
        #expect(out.bytes == Self.fragmentationNeeded(quoting: Array(big[14...]), mtu: 1460))
        #expect(h.counters[.tooBigAnswered] == 1 && h.counters[.forwarded] == 1)
    }

    @Test("the MTU announced is tunnel_mtu minus this route's own encapsulation", arguments: [
        // (alternate hash, IPv6 underlay, expected next-hop MTU for tunnel_mtu 1500)
        (false, false, 1460), (true, false, 1452), (false, true, 1428), (true, true, 1396),
    ])
    func overheadPerRoute(alt: Bool, ipv6Underlay: Bool, mtu: Int) throws {
        let table = ipv6Underlay ? Tables.table([Tables.bind("192.0.2.80", .tcp, 443)], ["2001:db8:b::1", "2001:db8:b::2"]) : Self.web
        let h = try Harness(tables: [table]) {
            $0.tunnelMTU = 1500
            $0.outboundSourceIPv6 = IPAddress("2001:db8:d::1")!
            if alt { $0.altHashFields = HashFields(srcAddr: true, srcPort: true) }
        }
        #expect(h.run(Self.tcp4(total: mtu)).result.action == .forward)
        let big = Self.tcp4(total: mtu + 1)
        let out = h.run(big)
        #expect(out.bytes == Self.fragmentationNeeded(quoting: Array(big[14...]), mtu: mtu))
    }

    @Test("IPv6: packet too big quoting 1,232 bytes, exact bytes")
    func ipv6Answer() throws {
        let h = try Self.harness()
        #expect(h.run(Self.tcp6(total: 1460)).result.action == .forward)
        let big = Self.tcp6(total: 1461)
        let out = h.run(big)
        #expect(out.result.action == .reply && out.result.length == 62 + 1232)
        #expect(out.bytes == Self.packetTooBig(quoting: Array(big[14...]), mtu: 1460))
    }

    @Test("IPv6: never announces less than 1,280")
    func ipv6Minimum() throws {
        let h = try Self.harness(mtu: 1300)
        let big = Self.tcp6(total: 1300)
        #expect(h.run(big).bytes == Self.packetTooBig(quoting: Array(big[14...]), mtu: 1280))
    }

    @Test("without tunnel_mtu nothing is answered: the same packets are forwarded (as GLB)")
    func offByDefault() throws {
        let h = try Self.harness(mtu: nil)
        #expect(h.run(Self.tcp4(total: 1461)).result.action == .forward)
        #expect(h.run(Self.tcp6(total: 1461)).result.action == .forward)
        #expect(h.counters[.tooBigAnswered] == 0 && h.counters[.forwarded] == 2)
    }

    @Test("IPv4 without DF is dropped and counted, not answered")
    func withoutDontFragment() throws {
        let h = try Self.harness()
        let out = h.run(Self.tcp4(total: 1461, flags: 0))
        #expect(out.result.action == .drop)
        #expect(h.counters[.tooBigDFClear] == 1 && h.counters[.tooBigAnswered] == 0)
    }

    @Test("an ICMP error too big to carry is never answered with another")
    func noErrorAboutAnError() throws {
        let h = try Self.harness { $0.hashFields = HashFields(srcAddr: true, dstAddr: true, srcPort: true, dstPort: true) }
        let quoted = Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 40000, flags: 0x10))
        let padding = [UInt8](repeating: 0, count: 1461 - 20 - 8 - 40)
        let error = Build.ethernet(Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1,
                                              Build.icmp(type: 3, code: 4, rest: [0, 0, 5, 0xdc], quoted + padding), fragment: Self.dontFragment), type: 0x0800)
        #expect(h.run(error).result.action == .drop)
        #expect(h.counters[.tooBigICMPError] == 1 && h.counters[.tooBigAnswered] == 0)
    }

    @Test("answers are rate-limited per worker by a token bucket")
    func rateLimit() throws {
        let h = try Self.harness(burst: 3) { $0.icmpTooBigRate = 2 }
        let big = Self.tcp4(total: 1461)
        let first = (0..<5).map { _ in h.run(big).result.action }
        #expect(first == [.reply, .reply, .reply, .drop, .drop])
        #expect(h.counters[.tooBigRateLimited] == 2)
        // Half a second refills one token at 2 per second.
        h.counters.setClock(nanoseconds: 500_000_000)
        #expect(h.run(big).result.action == .reply)
        #expect(h.run(big).result.action == .drop)
        // A long pause refills the bucket to its size, no more.
        h.counters.setClock(nanoseconds: 3_600_000_000_000)
        #expect((0..<4).map { _ in h.run(big).result.action } == [.reply, .reply, .reply, .drop])
        // Negative control: a bucket large enough answers every one of the same packets.
        let unlimited = try Self.harness(burst: 100) { $0.icmpTooBigRate = 2 }
        #expect((0..<5).allSatisfy { _ in unlimited.run(big).result.action == .reply })
    }
}
