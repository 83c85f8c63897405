import GLBCore
import GLBPacket
import Testing

/// `PacketProcessor.processBurst` against `process` frame by frame: the same results, the
/// same bytes in every frame's buffer and the same counters, for bursts that mix every
/// outcome, in every burst size up to 32.
@Suite("Burst path")
struct BurstTests {
    static let tables = [
        Tables.table([Tables.bind("192.0.2.80", .tcp, 443), Tables.bind("192.0.2.80", .udp, 53), Tables.bind("2001:db8::80", .tcp, 443)]),
        Tables.table([Tables.bind("192.0.2.0/28", .tcp, 80, 90)], ["10.2.0.1", "2001:db8:b::2", "10.2.0.3"], seed: "0102030405060708090a0b0c0d0e0f10"),
        Tables.table([Tables.bind("192.0.2.200", .tcp, 8443)], ["2001:db8:c::1", "2001:db8:c::2", "2001:db8:c::3"], seed: "1112131415161718191a1b1c1d1e1f20"),
    ]

    static let dontFragment = 0x4000

    static func tcp4(total: Int, flags: Int) -> [UInt8] {
        Build.ethernet(Build.ipv4(src: "203.0.113.7", dst: "192.0.2.80", proto: 6,
                                  Build.tcp(sport: 40000, dport: 443, flags: 0x10, payload: [UInt8](repeating: 0xab, count: total - 40)),
                                  fragment: flags), type: 0x0800)
    }

    static func tcp6(total: Int) -> [UInt8] {
        Build.ethernet(Build.ipv6(src: "2001:db8:ffff::9", dst: "2001:db8::80", next: 6,
                                  Build.tcp(sport: 51515, dport: 443, flags: 0x10, payload: [UInt8](repeating: 0xcd, count: total - 60))),
                       type: 0x86DD)
    }

    /// Frames for every outcome: forwarded (IPv4, IPv6, VLAN, ICMP error and echo, first
    /// fragment), routes over IPv6 and mixed, answered and rate-limited "too big", exceptions
    /// and drops. The frame's headroom is the second element: some have too little.
    static let frames: [([UInt8], Int)] = {
        let quoted = Build.ipv4(src: "192.0.2.80", dst: "203.0.113.7", proto: 6, Build.tcp(sport: 443, dport: 40000, flags: 0x10))
        var f: [([UInt8], Int)] = []
        for i in 0..<24 {
            f.append((Build.tcp4("203.0.113.\(i + 1)", 40000 + i, "192.0.2.80", 443), 128))
            f.append((Build.tcp6("2001:db8:ffff::\(i + 1)", 50000 + i, "2001:db8::80", 443), 128))
            f.append((Build.tcp4("198.51.100.\(i + 1)", 1024 + i, "192.0.2.\(i % 14 + 1)", 80 + i % 11), 128))
            f.append((Build.tcp4("198.51.100.\(i + 101)", 2048 + i, "192.0.2.200", 8443), 128))
        }
        f += [
            (Build.ethernet(Build.ipv4(src: "203.0.113.9", dst: "192.0.2.80", proto: 17, Build.udp(sport: 5353, dport: 53)), type: 0x0800, vlan: 7), 128),
            (Build.ethernet(Build.ipv4(src: "198.18.0.1", dst: "192.0.2.80", proto: 1,
                                       Build.icmp(type: 3, code: 4, rest: [0, 0, 5, 0xdc], Array(quoted.prefix(28)))), type: 0x0800), 128),
            (Build.ethernet(Build.ipv4(src: "203.0.113.9", dst: "192.0.2.80", proto: 1, Build.icmp(type: 8, code: 0)), type: 0x0800), 128),
            (Build.ethernet(Build.ipv4(src: "203.0.113.9", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 4000, dport: 443), fragment: 0x2000),
                            type: 0x0800), 128),
            (Build.ethernet(Build.ipv4(src: "203.0.113.9", dst: "192.0.2.80", proto: 6, Build.tcp(sport: 4000, dport: 443), fragment: 185),
                            type: 0x0800), 128),
            (tcp4(total: 1480, flags: dontFragment), 128),
            (tcp4(total: 1481, flags: dontFragment), 128),
            (tcp4(total: 1490, flags: dontFragment), 128),
            (tcp4(total: 1490, flags: 0), 128),
            (tcp6(total: 1470), 128),
            (tcp6(total: 1500), 128),
            (Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443), 20),
            (Build.tcp4("203.0.113.7", 40000, "192.0.2.81", 443), 128),
            (Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 22), 128),
            (Build.ethernet([UInt8](repeating: 0, count: 28), type: 0x0806), 128),
            (Array(Build.tcp4("203.0.113.7", 40000, "192.0.2.80", 443).prefix(30)), 128),
            (Array(Build.tcp6("2001:db8:ffff::9", 51515, "2001:db8::80", 443).prefix(40)), 128),
            ([0x02, 0, 0], 128),
        ]
        return f
    }()

    /// A frame's own buffer: its headroom, the frame, and room after it.
    struct Slot {
        let buffer: UnsafeMutableRawPointer
        let size: Int
        let headroom: Int
        var start: UnsafeMutableRawPointer { buffer + headroom }

        init(_ frame: [UInt8], headroom: Int) {
            size = headroom + frame.count + 64
            buffer = .allocate(byteCount: size, alignment: 64)
            buffer.initializeMemory(as: UInt8.self, repeating: 0x5a, count: size)
            self.headroom = headroom
            frame.withUnsafeBytes { (buffer + headroom).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        }

        var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: buffer, count: size)) }
    }

    static func harness(_ configure: @escaping (inout DirectorConfig) -> Void) throws -> Harness {
        try Harness(tables: tables) {
            $0.outboundSourceIPv6 = IPAddress("2001:db8:d::1")
            $0.tunnelMTU = 1500
            $0.icmpTooBigBurst = 3
            configure(&$0)
        }
    }

    /// The sequence of frames: every frame of `frames` four times over, interleaved (the i-th
    /// is the (i × 7919 mod n)-th: 7919 is a prime larger than n, so every one comes once).
    static func sequence(offset: Int) -> [([UInt8], Int)] {
        let all = (0..<4).flatMap { _ in frames }
        return all.indices.map { all[($0 * 7919 + offset) % all.count] }
    }

    static let configurations: [(String, @Sendable (inout DirectorConfig) -> Void)] = [
        ("defaults", { _ in }),
        ("all hash fields, alternate hash, UDP checksums", {
            $0.hashFields = HashFields(srcAddr: true, dstAddr: true, srcPort: true, dstPort: true)
            $0.altHashFields = .sourceAddress
            $0.udpChecksum = true
        }),
    ]

    @Test("a burst gives each frame what process gives it, in every burst size", arguments: 0..<2)
    func sameAsOneByOne(configuration: Int) throws {
        let configure = Self.configurations[configuration].1
        let single = try Self.harness(configure), burst = try Self.harness(configure)
        let mac = MACAddress(bytes: Harness.portMAC)!.packetWords
        let frames = Self.sequence(offset: configuration)
        let oneByOne = frames.map { Slot($0.0, headroom: $0.1) }
        let inBursts = frames.map { Slot($0.0, headroom: $0.1) }
        defer { (oneByOne + inBursts).forEach { $0.buffer.deallocate() } }

        let expected = oneByOne.enumerated().map { i, slot in
            PacketProcessor.process(slot.start, length: frames[i].0.count, headroom: slot.headroom, plane: single.plane.view,
                                    portMAC: mac, counters: single.counters)
        }

        let packets = PacketBurst(capacity: 32)
        defer { packets.deallocate() }
        var got: [PacketResult] = []
        var next = 0, size = 1
        while next < inBursts.count {
            let count = min(size, inBursts.count - next)
            for j in 0..<count {
                packets.starts[j] = inBursts[next + j].start
                packets.lengths[j] = frames[next + j].0.count
                packets.headrooms[j] = inBursts[next + j].headroom
            }
            PacketProcessor.processBurst(packets, count: count, plane: burst.plane.view, portMAC: mac, counters: burst.counters)
            got += (0..<count).map { packets.results[$0] }
            next += count
            size = size % 32 + 1
        }

        #expect(got.count == expected.count)
        if let i = got.indices.first(where: { $0 < expected.count && got[$0] != expected[$0] }) {
            Issue.record("frame \(i): \(got[i]) in a burst, \(expected[i]) one by one")
        }
        if let i = frames.indices.first(where: { oneByOne[$0].bytes != inBursts[$0].bytes }) {
            Issue.record("frame \(i): its bytes differ")
        }
        for slot in 0..<Counter.slotCount {
            #expect(burst.counters.base[slot] == single.counters.base[slot], "counter slot \(slot)")
        }
        // Every outcome was in the bursts, the rate limit included.
        let actions = Set(expected.map(\.action))
        #expect(actions == [.forward, .reply, .exception, .drop])
        #expect(single.counters[.tooBigRateLimited] > 0 && single.counters[.tooBigAnswered] > 0)
        #expect(single.counters[.unusableRoute] > 0 && single.counters[.noHeadroom] > 0)
    }

    @Test("within one burst the too-big tokens go to the frames in their order")
    func tokensInOrder() throws {
        // The token bucket is the one state a packet leaves for the next: a burst path that
        // took its frames out of order would give them other results here (one token short).
        let h = try Self.harness { $0.icmpTooBigBurst = 2 }
        let mac = MACAddress(bytes: Harness.portMAC)!.packetWords
        let frames = [Self.tcp4(total: 1490, flags: Self.dontFragment), Self.tcp6(total: 1500), Self.tcp4(total: 1481, flags: Self.dontFragment)]
        let slots = frames.map { Slot($0, headroom: 128) }
        defer { slots.forEach { $0.buffer.deallocate() } }
        let packets = PacketBurst(capacity: 4)
        defer { packets.deallocate() }
        for (i, slot) in slots.enumerated() {
            packets.starts[i] = slot.start
            packets.lengths[i] = frames[i].count
            packets.headrooms[i] = slot.headroom
        }
        PacketProcessor.processBurst(packets, count: frames.count, plane: h.plane.view, portMAC: mac, counters: h.counters)
        #expect((0..<frames.count).map { packets.results[$0].action } == [.reply, .reply, .drop])
        #expect(h.counters[.tooBigAnswered] == 2 && h.counters[.tooBigRateLimited] == 1)
    }

    @Test("a burst of no frames does nothing")
    func empty() throws {
        let h = try Self.harness { _ in }
        let packets = PacketBurst(capacity: 4)
        defer { packets.deallocate() }
        PacketProcessor.processBurst(packets, count: 0, plane: h.plane.view, portMAC: MACAddress(bytes: Harness.portMAC)!.packetWords, counters: h.counters)
        #expect((0..<Counter.slotCount).allSatisfy { h.counters.base[$0] == 0 })
    }
}
