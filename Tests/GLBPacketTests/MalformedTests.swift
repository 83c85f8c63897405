import GLBCore
import GLBPacket
import Testing

@Suite("Malformed and hostile frames")
struct MalformedTests {
    static let table = Tables.table([Tables.bind("192.0.2.80", .tcp, 443), Tables.bind("2001:db8::80", .tcp, 443)])

    static let v4 = Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443)
    static let v6 = Build.tcp6("2001:db8:ffff::9", 51515, "2001:db8::80", 443)

    static func withByte(_ f: [UInt8], _ at: Int, _ v: UInt8) -> [UInt8] {
        var g = f
        g[at] = v
        return g
    }

    @Test("each malformation is a counted drop", arguments: [
        (Array(v4.prefix(13)), Counter.malformedEthernet),
        (Build.ethernet([], type: 0x8100), .malformedEthernet),
        (Array(v4.prefix(33)), .malformedIPv4Header),
        (withByte(v4, 14, 0x44), .malformedIPv4Header),
        (withByte(v4, 14, 0x65), .malformedIPv4Header),
        (withByte(v4, 16, 0x10), .malformedIPLength),
        (withByte(withByte(v4, 16, 0), 17, 10), .malformedIPLength),
        (Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6, [1, 187]), type: 0x0800), .malformedTransport),
        (Array(v6.prefix(50)), .malformedIPv6Header),
        (withByte(v6, 14, 0x45), .malformedIPv6Header),
        (withByte(v6, 18, 0x10), .malformedIPLength),
        (Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 6, [0, 1]), type: 0x86DD), .malformedTransport),
        (Build.ethernet(Build.ipv4(src: "1.2.3.4", dst: "192.0.2.80", proto: 1, [3, 4]), type: 0x0800), .malformedICMP),
        (Build.ethernet(Build.ipv4(src: "1.2.3.4", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, [0x45, 0, 0, 20])), type: 0x0800), .malformedICMP),
        (Build.ethernet(Build.ipv4(src: "1.2.3.4", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, Array(Build.ipv4(src: "192.0.2.80", dst: "1.2.3.4", proto: 6, []).prefix(20)) + [1])), type: 0x0800), .malformedICMP),
    ])
    func malformed(frame: [UInt8], counter: Counter) throws {
        let h = try Harness(tables: [Self.table])
        let out = h.run(frame)
        #expect(out.result.action == .drop)
        #expect(h.counters[counter] == 1)
        #expect(Counter.allCases.filter { h.counters[$0] > 0 } == [counter])
    }

    @Test("every truncation of valid frames is handled without reading past the end")
    func truncations() throws {
        let h = try Harness(tables: [Self.table])
        let quoted = Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 40000))
        let icmp = Build.ethernet(Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1, Build.icmp(type: 3, code: 4, quoted)), type: 0x0800)
        for frame in [Self.v4, Self.v6, icmp] {
            for n in 0..<frame.count {
                // Run on an exactly-sized buffer so any over-read lands outside it (ASan, fuzzing).
                let out = h.run(Array(frame.prefix(n)))
                // Every strict prefix is shorter than the IP header says the packet is.
                #expect(out.result.action == .drop, "prefix of \(n) bytes")
            }
        }
    }

    @Test("random frames never crash and always get an outcome")
    func random() throws {
        let h = try Harness(tables: [Self.table])
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        var total: UInt64 = 0
        for i in 0..<20_000 {
            var frame = i % 2 == 0 ? Self.v4 : Self.v6
            for _ in 0..<Int(next() % 4) { frame[Int(next()) % frame.count] = UInt8(truncatingIfNeeded: next()) }
            frame = Array(frame.prefix(Int(next()) % (frame.count + 1)))
            _ = h.run(frame)
            total += 1
        }
        let counted = Counter.allCases.filter { !$0.isForwardedDetail }.reduce(0) { $0 + h.counters[$1] }
        #expect(counted == total)
    }
}
