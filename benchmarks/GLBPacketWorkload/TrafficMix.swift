import GLBCore

/// A small deterministic generator (SplitMix64), so every run builds the same frames.
public struct SplitMix64 {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    public mutating func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

/// The kinds of frame a director sees, forwarded or not.
public enum FrameKind: String, CaseIterable, Sendable {
    case ipv4TCP = "ipv4-tcp"
    case ipv4UDP = "ipv4-udp"
    case ipv6TCP = "ipv6-tcp"
    case ipv6UDP = "ipv6-udp"
    case vlanIPv4TCP = "vlan-ipv4-tcp"
    case ipv4Options = "ipv4-options-tcp"
    case foreignMAC = "foreign-mac-ipv4-tcp"
    case icmpv4FragmentationNeeded = "icmpv4-frag-needed"
    case icmpv6PacketTooBig = "icmpv6-packet-too-big"
    case echo4 = "icmpv4-echo"
    case echo6 = "icmpv6-echo"
    case ipv4FirstFragment = "ipv4-first-fragment"
    case ipv4LaterFragment = "ipv4-later-fragment"
    case ipv6FirstFragment = "ipv6-first-fragment"
    case ipv6LaterFragment = "ipv6-later-fragment"
    case ipv6HopByHop = "ipv6-hop-by-hop-tcp"
    case unmatchedPort = "unmatched-port"
    case unmatchedAddress = "unmatched-address"
    case otherProtocol = "other-protocol"
    case arp = "arp"
    case truncated = "truncated"
    case badIHL = "bad-ihl"
    case badLength = "bad-length"
}

/// One generated frame and what it is.
public struct Sample: Sendable {
    public var kind: FrameKind
    public var bytes: [UInt8]
}

/// Generates traffic to a set of tables.
public struct TrafficMix {
    /// Per mille, roughly what a director in front of web and DNS services sees: mostly TCP to
    /// binds, some UDP and IPv6, a little ICMP, fragments, tagged frames, traffic that is not
    /// for any bind, and malformed frames.
    public static let realistic: [(FrameKind, Int)] = [
        (.ipv4TCP, 570), (.ipv4UDP, 80), (.ipv6TCP, 110), (.ipv6UDP, 30), (.vlanIPv4TCP, 20), (.ipv4Options, 10),
        (.foreignMAC, 10), (.icmpv4FragmentationNeeded, 15), (.icmpv6PacketTooBig, 5), (.echo4, 15), (.echo6, 5),
        (.ipv4FirstFragment, 10), (.ipv4LaterFragment, 10), (.ipv6FirstFragment, 5), (.ipv6LaterFragment, 5),
        (.ipv6HopByHop, 5), (.unmatchedPort, 25), (.unmatchedAddress, 20), (.otherProtocol, 5), (.arp, 10),
        (.truncated, 15), (.badIHL, 10), (.badLength, 10),
    ]

    let binds: [Bind]
    var random: SplitMix64
    /// TCP and UDP payload sizes.
    let payload: ClosedRange<Int>

    /// - Parameters:
    ///   - tables: the tables whose binds the traffic goes to.
    ///   - payload: the range of TCP/UDP payload sizes in bytes.
    ///   - seed: the generator's seed.
    public init(tables: [TableConfig], payload: ClosedRange<Int> = 0...32, seed: UInt64 = 1) {
        binds = tables.flatMap(\.binds)
        random = SplitMix64(seed: seed)
        self.payload = payload
    }

    /// `count` frames drawn from `weights`, in random order.
    public mutating func samples(_ count: Int, weights: [(FrameKind, Int)]) -> [Sample] {
        let total = weights.reduce(0) { $0 + $1.1 }
        precondition(total > 0, "weights must not all be zero")
        return (0..<count).map { _ in
            var pick = Int(random.next() % UInt64(total))
            var kind = weights[0].0
            for (k, w) in weights {
                if pick < w { kind = k; break }
                pick -= w
            }
            return Sample(kind: kind, bytes: frame(kind))
        }
    }

    // MARK: Building blocks

    mutating func bind(_ family: AddressFamily, _ proto: BindProtocol) -> Bind? {
        let matching = binds.filter { $0.address.family == family && $0.proto == proto }
        return matching.isEmpty ? nil : matching[Int(random.next() % UInt64(matching.count))]
    }

    /// A destination inside the bind: the address itself, or a random host of its prefix.
    mutating func destination(_ b: Bind) -> (IPAddress, Int) {
        var bytes = b.address.bytes
        for i in 0..<bytes.count {
            let bitsHere = max(0, min(8, b.prefixLength - 8 * i))
            if bitsHere < 8 {
                let keep = bitsHere == 0 ? UInt8(0) : ~(UInt8(0xff) >> bitsHere)
                bytes[i] = (bytes[i] & keep) | (UInt8(truncatingIfNeeded: random.next()) & ~keep)
            }
        }
        let port = random.next(in: Int(b.portStart)...Int(b.portEnd))
        return (IPAddress(family: b.address.family, bytes: bytes)!, port)
    }

    mutating func client4() -> IPAddress {
        IPAddress(ipv4: 0xC612_0000 | UInt32(truncatingIfNeeded: random.next() & 0x1_ffff))
    }

    mutating func client6() -> IPAddress {
        let b: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0xc0 | UInt8(truncatingIfNeeded: random.next() & 0x0f)] + random.bytes(11)
        return IPAddress(family: .ipv6, bytes: b)!
    }

    mutating func clientPort() -> Int { random.next(in: 1024...65535) }

    mutating func payloadBytes() -> [UInt8] { random.bytes(random.next(in: payload)) }

    func eth(_ payload: [UInt8], type: Int, dst: [UInt8] = Workload.portMAC, vlan: Int? = nil) -> [UInt8] {
        FrameBuilder.ethernet(payload, type: type, dst: dst, vlan: vlan)
    }

    mutating func tcp4(dst: [UInt8] = Workload.portMAC, vlan: Int? = nil, options: [UInt8] = []) -> [UInt8] {
        guard let b = bind(.ipv4, .tcp) else { return unmatched4() }
        let (vip, port) = destination(b)
        let l4 = FrameBuilder.tcp(sport: clientPort(), dport: port, seq: UInt32(truncatingIfNeeded: random.next()), payload: payloadBytes())
        return eth(FrameBuilder.ipv4(src: client4(), dst: vip, proto: 6, l4, options: options), type: 0x0800, dst: dst, vlan: vlan)
    }

    mutating func unmatched4() -> [UInt8] {
        let l4 = FrameBuilder.tcp(sport: clientPort(), dport: 443)
        return eth(FrameBuilder.ipv4(src: client4(), dst: IPAddress("203.0.113.99")!, proto: 6, l4), type: 0x0800)
    }

    // MARK: Frames

    public mutating func frame(_ kind: FrameKind) -> [UInt8] {
        switch kind {
        case .ipv4TCP:
            return tcp4()
        case .vlanIPv4TCP:
            return tcp4(vlan: 100)
        case .ipv4Options:
            // Router alert.
            return tcp4(options: [0x94, 0x04, 0x00, 0x00])
        case .foreignMAC:
            return tcp4(dst: Workload.foreignMAC)
        case .ipv4UDP:
            guard let b = bind(.ipv4, .udp) else { return tcp4() }
            let (vip, port) = destination(b)
            let l4 = FrameBuilder.udp(sport: clientPort(), dport: port, payload: payloadBytes())
            return eth(FrameBuilder.ipv4(src: client4(), dst: vip, proto: 17, l4), type: 0x0800)
        case .ipv6TCP, .ipv6UDP, .ipv6HopByHop:
            let proto: BindProtocol = kind == .ipv6UDP ? .udp : .tcp
            guard let b = bind(.ipv6, proto) else { return tcp4() }
            let (vip, port) = destination(b)
            let l4 = proto == .tcp
                ? FrameBuilder.tcp(sport: clientPort(), dport: port, seq: UInt32(truncatingIfNeeded: random.next()), payload: payloadBytes())
                : FrameBuilder.udp(sport: clientPort(), dport: port, payload: payloadBytes())
            let flowLabel = UInt32(truncatingIfNeeded: random.next()) & 0xfffff
            if kind == .ipv6HopByHop {
                return eth(FrameBuilder.ipv6(src: client6(), dst: vip, next: 0, FrameBuilder.ipv6Options(next: 6) + l4, flowLabel: flowLabel), type: 0x86DD)
            }
            return eth(FrameBuilder.ipv6(src: client6(), dst: vip, next: proto.ipProtocol, l4, flowLabel: flowLabel), type: 0x86DD)
        case .icmpv4FragmentationNeeded:
            guard let b = bind(.ipv4, .tcp) else { return tcp4() }
            let (vip, port) = destination(b)
            // The VIP's reply to the client, quoted by a router with a smaller MTU.
            let quoted = FrameBuilder.ipv4(src: vip, dst: client4(), proto: 6, FrameBuilder.tcp(sport: port, dport: clientPort(), flags: 0x18, payload: random.bytes(64)))
            let l4 = FrameBuilder.icmp(type: 3, code: 4, rest: [0, 0] + FrameBuilder.be16(1400), Array(quoted.prefix(20 + 28)))
            return eth(FrameBuilder.ipv4(src: IPAddress("198.51.100.1")!, dst: vip, proto: 1, l4), type: 0x0800)
        case .icmpv6PacketTooBig:
            guard let b = bind(.ipv6, .tcp) else { return tcp4() }
            let (vip, port) = destination(b)
            let quoted = FrameBuilder.ipv6(src: vip, dst: client6(), next: 6, FrameBuilder.tcp(sport: port, dport: clientPort(), flags: 0x18, payload: random.bytes(64)))
            let l4 = FrameBuilder.icmp(type: 2, code: 0, rest: FrameBuilder.be32(1280), quoted)
            return eth(FrameBuilder.ipv6(src: IPAddress("2001:db8:ffff::1")!, dst: vip, next: 58, l4), type: 0x86DD)
        case .echo4:
            guard let b = bind(.ipv4, .tcp) else { return tcp4() }
            let l4 = FrameBuilder.icmp(type: 8, code: 0, rest: FrameBuilder.be16(clientPort()) + FrameBuilder.be16(1), random.bytes(56))
            return eth(FrameBuilder.ipv4(src: client4(), dst: destination(b).0, proto: 1, l4, id: clientPort()), type: 0x0800)
        case .echo6:
            guard let b = bind(.ipv6, .tcp) else { return tcp4() }
            let l4 = FrameBuilder.icmp(type: 128, code: 0, rest: FrameBuilder.be16(clientPort()) + FrameBuilder.be16(1), random.bytes(56))
            return eth(FrameBuilder.ipv6(src: client6(), dst: destination(b).0, next: 58, l4, flowLabel: UInt32(clientPort())), type: 0x86DD)
        case .ipv4FirstFragment, .ipv4LaterFragment:
            guard let b = bind(.ipv4, .udp) ?? bind(.ipv4, .tcp) else { return tcp4() }
            let (vip, port) = destination(b)
            let id = clientPort()
            if kind == .ipv4FirstFragment {
                let l4 = b.proto == .udp ? FrameBuilder.udp(sport: clientPort(), dport: port, payload: random.bytes(400))
                    : FrameBuilder.tcp(sport: clientPort(), dport: port, payload: random.bytes(200))
                return eth(FrameBuilder.ipv4(src: client4(), dst: vip, proto: b.proto.ipProtocol, l4, id: id, fragment: 0x2000), type: 0x0800)
            }
            return eth(FrameBuilder.ipv4(src: client4(), dst: vip, proto: b.proto.ipProtocol, random.bytes(120), id: id, fragment: 185), type: 0x0800)
        case .ipv6FirstFragment, .ipv6LaterFragment:
            guard let b = bind(.ipv6, .udp) ?? bind(.ipv6, .tcp) else { return tcp4() }
            let (vip, port) = destination(b)
            let id = UInt32(truncatingIfNeeded: random.next())
            let first = kind == .ipv6FirstFragment
            let body = first
                ? (b.proto == .udp ? FrameBuilder.udp(sport: clientPort(), dport: port, payload: random.bytes(200)) : FrameBuilder.tcp(sport: clientPort(), dport: port, payload: random.bytes(200)))
                : random.bytes(96)
            let fragment = FrameBuilder.ipv6Fragment(next: b.proto.ipProtocol, offset: first ? 0 : 181, more: first, id: id)
            return eth(FrameBuilder.ipv6(src: client6(), dst: vip, next: 44, fragment + body), type: 0x86DD)
        case .unmatchedPort:
            guard let b = bind(.ipv4, .tcp) else { return unmatched4() }
            let l4 = FrameBuilder.tcp(sport: clientPort(), dport: 9, flags: 0x02)
            return eth(FrameBuilder.ipv4(src: client4(), dst: destination(b).0, proto: 6, l4), type: 0x0800)
        case .unmatchedAddress:
            return unmatched4()
        case .otherProtocol:
            // GRE to a VIP.
            guard let b = bind(.ipv4, .tcp) else { return unmatched4() }
            return eth(FrameBuilder.ipv4(src: client4(), dst: destination(b).0, proto: 47, [0, 0, 0x08, 0x00] + random.bytes(40)), type: 0x0800)
        case .arp:
            let arp: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + FrameBuilder.clientMAC + client4().bytes + [0, 0, 0, 0, 0, 0] + IPAddress("10.100.0.10")!.bytes
            return eth(arp, type: 0x0806, dst: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        case .truncated:
            // Cut inside the IP header or the transport header.
            let whole = tcp4()
            return Array(whole.prefix(random.next(in: 15...(14 + 20 + 3))))
        case .badIHL:
            var f = tcp4()
            f[14] = 0x43
            return f
        case .badLength:
            var f = tcp4()
            let claimed = f.count - 14 + random.next(in: 1...200)
            f[16] = UInt8(truncatingIfNeeded: claimed >> 8)
            f[17] = UInt8(truncatingIfNeeded: claimed)
            return f
        }
    }
}
