import GLBCore

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
    /// IPv4's "don't fragment" flag in the flags/offset word's first byte.
    @inlinable static var ipv4DontFragment: UInt8 { 0x40 }
    /// IPv6's minimum link MTU (RFC 8200 §5): never announce less; an ICMPv6 error fits in it.
    @inlinable static var ipv6MinimumMTU: Int { 1280 }
    /// Ethernet + IPv4 + ICMP header of an answer, and likewise for IPv6.
    @inlinable static var answerHeaderLengthIPv4: Int { 14 + 20 + 8 }
    @inlinable static var answerHeaderLengthIPv6: Int { 14 + 40 + 8 }
    /// An ICMP error's IPv4 header: precedence "internetwork control" (RFC 1812 §4.3.2.5).
    @inlinable static var answerVersionIHLTOS: UInt16 { 0x45c0 }

    /// The encapsulated packet would be `outerLength` bytes, more than `plane.outerLimit`;
    /// `overhead` is what the encapsulation adds to the inner packet.
    @inlinable @inline(never)
    static func tooBig(_ frame: FrameSpan, flow: Flow, plane: UnsafePointer<PlaneView>, portMAC: (UInt32, UInt16),
                       counters: WorkerCounters, outerLength: Int, overhead: Int) -> PacketResult {
        guard outerLength <= PlaneView.largestIPPacket else { return drop(.tooBigToEncapsulate, counters) }
        // No ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4).
        guard flow.kind != .forwardedICMPError else { return drop(.tooBigICMPError, counters) }
        let ip = UnsafeRawPointer(frame.start + flow.l3)
        if !flow.isIPv6 && ip.u8(6) & ipv4DontFragment == 0 { return drop(.tooBigDFClear, counters) }
        guard counters.takeTooBigToken(rate: plane.pointee.tooBigRate, burst: plane.pointee.tooBigBurst) else {
            return drop(.tooBigRateLimited, counters)
        }
        let mtu = plane.pointee.outerLimit &- overhead
        return flow.isIPv6
            ? answerPacketTooBig(frame, flow: flow, mtu: max(mtu, ipv6MinimumMTU), portMAC: portMAC, counters: counters)
            : answerFragmentationNeeded(frame, flow: flow, mtu: mtu, portMAC: portMAC, counters: counters)
    }

    /// ICMP type 3 code 4 from the VIP to the client, quoting the IP header and the 8 bytes
    /// after it (RFC 792), with the next-hop MTU (RFC 1191).
    @inlinable
    static func answerFragmentationNeeded(_ frame: FrameSpan, flow: Flow, mtu: Int, portMAC: (UInt32, UInt16),
                                          counters: WorkerCounters) -> PacketResult {
        let ip = UnsafeRawPointer(frame.start + flow.l3)
        let quote = min(Int(ip.u8(0) & 0x0f) &* 4 &+ 8, flow.innerLength)
        let start = flow.l3 &- answerHeaderLengthIPv4
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        // Read before the answer's headers overwrite the original Ethernet header.
        let client = (UnsafeRawPointer(frame.start).raw32(6), UnsafeRawPointer(frame.start).raw16(10))
        let o = frame.start + start
        putEthernet(o, to: client, from: portMAC, etherType: EtherType.ipv4)
        // IPv4: an atomic datagram (DF, id 0), TTL 64, ICMP, from the VIP to the client.
        o.put16(14, answerVersionIHLTOS)
        o.put16(16, UInt16(truncatingIfNeeded: 28 &+ quote))
        o.put32(18, outerFlagsDF)
        o.put8(22, outerHopLimit)
        o.put8(23, IPProtocol.icmp)
        o.put16(24, 0)
        o.putRaw32(26, ip.raw32(16))
        o.putRaw32(30, ip.raw32(12))
        o.put16(24, ~UInt16(truncatingIfNeeded: onesComplementSum(UnsafeRawPointer(o + 14), count: 20)))
        // ICMP: type, code, checksum, unused, next-hop MTU; the quote is already in place.
        o.put8(34, ICMPv4Type.destinationUnreachable)
        o.put8(35, ICMPv4Type.fragmentationNeededCode)
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
    static func answerPacketTooBig(_ frame: FrameSpan, flow: Flow, mtu: Int, portMAC: (UInt32, UInt16),
                                   counters: WorkerCounters) -> PacketResult {
        let ip = UnsafeRawPointer(frame.start + flow.l3)
        let quote = min(flow.innerLength, ipv6MinimumMTU &- 40 &- 8)
        let start = flow.l3 &- answerHeaderLengthIPv6
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        let client = (UnsafeRawPointer(frame.start).raw32(6), UnsafeRawPointer(frame.start).raw16(10))
        let o = frame.start + start
        putEthernet(o, to: client, from: portMAC, etherType: EtherType.ipv6)
        o.put32(14, ipv6VersionWord)
        o.put16(18, UInt16(truncatingIfNeeded: 8 &+ quote))
        o.put8(20, IPProtocol.icmpv6)
        o.put8(21, outerHopLimit)
        o.putRaw64(22, ip.raw64(24))  // from the VIP
        o.putRaw64(30, ip.raw64(32))
        o.putRaw64(38, ip.raw64(8))  // to the client
        o.putRaw64(46, ip.raw64(16))
        o.put8(54, ICMPv6Type.packetTooBig)
        o.put8(55, 0)
        o.put16(56, 0)
        o.put32(58, UInt32(truncatingIfNeeded: mtu))
        let p = UnsafeRawPointer(o)
        var sum = onesComplementSum(p + 22, count: 32) &+ UInt64(8 &+ quote) &+ UInt64(IPProtocol.icmpv6)
        sum &+= onesComplementSum(p + 54, count: 8 &+ quote)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        o.put16(56, ~UInt16(truncatingIfNeeded: sum))
        counters.bump(.tooBigAnswered)
        return PacketResult(action: .reply, offset: start, length: answerHeaderLengthIPv6 &+ quote)
    }
}
