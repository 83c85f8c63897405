/// Path MTU discovery through the director (docs/glb-director.md, "Path MTU"): a packet whose
/// encapsulation would exceed `tunnel_mtu` is answered, as a router on the path would answer
/// it, with ICMP "fragmentation needed" (IPv4, DF set) or ICMPv6 "packet too big", from the
/// VIP, carrying the MTU the client can use. The answer is written in place in front of the
/// packet, whose own first bytes become the quote, and leaves to the frame's source MAC.
///
/// IPv4 packets without DF are dropped and counted rather than fragmented: fragments need a
/// buffer each, and the packet path writes in place into the one buffer it was given; TCP
/// always sets DF, so what remains is UDP that asks for fragmentation, which the underlay
/// cannot give it either.
extension PacketProcessor {
    @usableFromInline static let etherTypeIPv4: UInt16 = 0x0800
    @usableFromInline static let ipProtocolICMP: UInt8 = 1
    @usableFromInline static let ipProtocolICMPv6: UInt8 = 58
    @usableFromInline static let icmpDestinationUnreachable: UInt8 = 3
    @usableFromInline static let icmpFragmentationNeeded: UInt8 = 4
    @usableFromInline static let icmpv6PacketTooBig: UInt8 = 2
    /// IPv4's "don't fragment" flag in the flags/offset word's first byte.
    @usableFromInline static let ipv4DontFragment: UInt8 = 0x40
    /// IPv6's minimum link MTU (RFC 8200 §5): never announce less; an ICMPv6 error fits in it.
    @usableFromInline static let ipv6MinimumMTU = 1280
    /// Ethernet + IPv4 + ICMP header of an answer, and likewise for IPv6.
    @usableFromInline static let answerHeaderLengthIPv4 = 14 + 20 + 8
    @usableFromInline static let answerHeaderLengthIPv6 = 14 + 40 + 8

    /// The encapsulated packet would be `outerLength` bytes, more than `plane.outerLimit`;
    /// `overhead` is what the encapsulation adds to the inner packet.
    @inlinable @inline(never)
    static func tooBig(_ frame: UnsafeMutableRawPointer, l3: Int, headroom: Int, flow: Flow, plane: UnsafePointer<PlaneView>,
                       portMAC: (UInt32, UInt16), counters: WorkerCounters, outerLength: Int, overhead: Int) -> PacketResult {
        guard outerLength <= PlaneView.largestIPPacket else { return drop(.tooBigToEncapsulate, counters) }
        // No ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4).
        guard flow.kind != .forwardedICMPError else { return drop(.tooBigICMPError, counters) }
        let ip = UnsafeRawPointer(frame + l3)
        let ipv4 = flow.gueProtocol == 4
        if ipv4 && ip.u8(6) & ipv4DontFragment == 0 { return drop(.tooBigDFClear, counters) }
        guard counters.takeTooBigToken(rate: plane.pointee.tooBigRate, burst: plane.pointee.tooBigBurst) else {
            return drop(.tooBigRateLimited, counters)
        }
        let mtu = plane.pointee.outerLimit &- overhead
        return ipv4
            ? answerFragmentationNeeded(frame, l3: l3, headroom: headroom, innerLength: flow.innerLength, mtu: mtu, portMAC: portMAC, counters: counters)
            : answerPacketTooBig(frame, l3: l3, headroom: headroom, innerLength: flow.innerLength, mtu: max(mtu, ipv6MinimumMTU),
                                 portMAC: portMAC, counters: counters)
    }

    /// ICMP type 3 code 4 from the VIP to the client, quoting the IP header and the 8 bytes
    /// after it (RFC 792), with the next-hop MTU (RFC 1191).
    @inlinable
    static func answerFragmentationNeeded(_ frame: UnsafeMutableRawPointer, l3: Int, headroom: Int, innerLength: Int, mtu: Int,
                                          portMAC: (UInt32, UInt16), counters: WorkerCounters) -> PacketResult {
        let ip = UnsafeRawPointer(frame + l3)
        let quote = min(Int(ip.u8(0) & 0x0f) &* 4 &+ 8, innerLength)
        let start = l3 &- answerHeaderLengthIPv4
        guard start >= -headroom else { return drop(.noHeadroom, counters) }
        // Read before the answer's headers overwrite the original Ethernet header.
        let client = (UnsafeRawPointer(frame).raw32(6), UnsafeRawPointer(frame).raw16(10))
        let o = frame + start
        putAnswerEthernet(o, to: client, from: portMAC, etherType: etherTypeIPv4)
        // IPv4: precedence "internetwork control" as for ICMP errors, an atomic datagram (DF, id 0).
        o.put16(14, 0x45c0)
        o.put16(16, UInt16(truncatingIfNeeded: 28 &+ quote))
        o.put32(18, 0x0000_4000)
        o.put8(22, outerHopLimit)
        o.put8(23, ipProtocolICMP)
        o.put16(24, 0)
        o.putRaw32(26, ip.raw32(16))  // from the VIP
        o.putRaw32(30, ip.raw32(12))  // to the client
        o.put16(24, ~UInt16(truncatingIfNeeded: onesComplementSum(UnsafeRawPointer(o + 14), count: 20)))
        // ICMP: type, code, checksum, unused, next-hop MTU; the quote is already in place.
        o.put8(34, icmpDestinationUnreachable)
        o.put8(35, icmpFragmentationNeeded)
        o.put16(36, 0)
        o.put16(38, 0)
        o.put16(40, UInt16(truncatingIfNeeded: mtu))
        o.put16(36, ~UInt16(truncatingIfNeeded: onesComplementSum(UnsafeRawPointer(o + 34), count: 8 &+ quote)))
        counters.bump(.tooBigAnswered)
        return PacketResult(action: .reply, offset: start, length: answerHeaderLengthIPv4 &+ quote)
    }

    /// ICMPv6 type 2 from the VIP to the client, quoting as much of the packet as fits in
    /// IPv6's minimum MTU (RFC 4443 §3.2).
    @inlinable
    static func answerPacketTooBig(_ frame: UnsafeMutableRawPointer, l3: Int, headroom: Int, innerLength: Int, mtu: Int,
                                   portMAC: (UInt32, UInt16), counters: WorkerCounters) -> PacketResult {
        let ip = UnsafeRawPointer(frame + l3)
        let quote = min(innerLength, ipv6MinimumMTU &- 40 &- 8)
        let start = l3 &- answerHeaderLengthIPv6
        guard start >= -headroom else { return drop(.noHeadroom, counters) }
        let client = (UnsafeRawPointer(frame).raw32(6), UnsafeRawPointer(frame).raw16(10))
        let o = frame + start
        putAnswerEthernet(o, to: client, from: portMAC, etherType: etherTypeIPv6)
        o.put32(14, 0x6000_0000)
        o.put16(18, UInt16(truncatingIfNeeded: 8 &+ quote))
        o.put8(20, ipProtocolICMPv6)
        o.put8(21, outerHopLimit)
        o.putRaw64(22, ip.raw64(24))  // from the VIP
        o.putRaw64(30, ip.raw64(32))
        o.putRaw64(38, ip.raw64(8))  // to the client
        o.putRaw64(46, ip.raw64(16))
        o.put8(54, icmpv6PacketTooBig)
        o.put8(55, 0)
        o.put16(56, 0)
        o.put32(58, UInt32(truncatingIfNeeded: mtu))
        let p = UnsafeRawPointer(o)
        var sum = onesComplementSum(p + 22, count: 32) &+ UInt64(8 &+ quote) &+ UInt64(ipProtocolICMPv6)
        sum &+= onesComplementSum(p + 54, count: 8 &+ quote)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        o.put16(56, ~UInt16(truncatingIfNeeded: sum))
        counters.bump(.tooBigAnswered)
        return PacketResult(action: .reply, offset: start, length: answerHeaderLengthIPv6 &+ quote)
    }

    @inlinable @inline(__always)
    static func putAnswerEthernet(_ o: UnsafeMutableRawPointer, to: (UInt32, UInt16), from: (UInt32, UInt16), etherType: UInt16) {
        o.putRaw32(0, to.0)
        o.putRaw16(4, to.1)
        o.putRaw32(6, from.0)
        o.putRaw16(10, from.1)
        o.put16(12, etherType)
    }
}
