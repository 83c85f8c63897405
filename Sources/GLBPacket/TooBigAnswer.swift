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
    /// An ICMP error about IPv4 quotes the IP header and this many bytes after it (RFC 792).
    @inlinable static var quotedDataIPv4: Int { 8 }
    /// IPv6's minimum link MTU (RFC 8200 §5): never announce less; an ICMPv6 error fits in it.
    @inlinable static var ipv6MinimumMTU: Int { 1280 }
    /// Where an answer's IP and ICMP headers start, and the length of all its headers, over
    /// IPv4 and IPv6.
    @inlinable static var answerIP: Int { EthernetHeader.length }
    @inlinable static var answerICMPv4: Int { answerIP &+ IPv4Header.minimumLength }
    @inlinable static var answerICMPv6: Int { answerIP &+ IPv6Header.length }
    @inlinable static var answerHeaderLengthIPv4: Int { answerICMPv4 &+ ICMPHeader.length }
    @inlinable static var answerHeaderLengthIPv6: Int { answerICMPv6 &+ ICMPHeader.length }
    /// An ICMP error's IPv4 header: precedence "internetwork control" (RFC 1812 §4.3.2.5).
    @inlinable static var answerVersionIHLTOS: UInt16 { 0x45c0 }

    /// The frame's source MAC, where the answer goes (`MACAddress.packetWords`).
    @inlinable @inline(__always)
    static func clientMAC(_ frame: FrameSpan) -> (UInt32, UInt16) {
        let p = UnsafeRawPointer(frame.start) + EthernetHeader.sourceOffset
        return (p.raw32(0), p.raw16(4))
    }

    /// The encapsulated packet would be `outerLength` bytes, more than `plane.outerLimit`;
    /// `overhead` is what the encapsulation adds to the inner packet.
    @inlinable @inline(never)
    static func tooBig(_ frame: FrameSpan, flow: Flow, plane: UnsafePointer<PlaneView>, portMAC: (UInt32, UInt16),
                       counters: WorkerCounters, outerLength: Int, overhead: Int) -> PacketResult {
        guard outerLength <= PlaneView.largestIPPacket else { return drop(.tooBigToEncapsulate, counters) }
        // No ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4).
        guard flow.kind != .forwardedICMPError else { return drop(.tooBigICMPError, counters) }
        let ip = UnsafeRawPointer(frame.start + flow.l3)
        if !flow.isIPv6 && ip.u8(IPv4Header.flagsFragmentOffset) & ipv4DontFragment == 0 { return drop(.tooBigDFClear, counters) }
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
        let quote = min(Int(ip.u8(IPv4Header.versionIHLOffset) & 0x0f) &* 4 &+ quotedDataIPv4, flow.innerLength)
        let start = flow.l3 &- answerHeaderLengthIPv4
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        // Read before the answer's headers overwrite the original Ethernet header.
        let client = clientMAC(frame)
        let o = frame.start + start
        putEthernet(o, to: client, from: portMAC, etherType: EtherType.ipv4)
        // IPv4: an atomic datagram (DF, id 0), TTL 64, ICMP, from the VIP to the client.
        let at = answerIP, icmp = answerICMPv4
        o.put16(at &+ IPv4Header.versionIHLOffset, answerVersionIHLTOS)
        o.put16(at &+ IPv4Header.totalLengthOffset, UInt16(truncatingIfNeeded: IPv4Header.minimumLength &+ ICMPHeader.length &+ quote))
        o.put32(at &+ IPv4Header.identificationOffset, outerFlagsDF)
        o.put8(at &+ IPv4Header.ttlOffset, outerHopLimit)
        o.put8(at &+ IPv4Header.protocolOffset, IPProtocol.icmp)
        o.put16(at &+ IPv4Header.checksumOffset, 0)
        o.putRaw32(at &+ IPv4Header.sourceOffset, ip.raw32(IPv4Header.destinationOffset))
        o.putRaw32(at &+ IPv4Header.destinationOffset, ip.raw32(IPv4Header.sourceOffset))
        o.put16(at &+ IPv4Header.checksumOffset,
                ~UInt16(truncatingIfNeeded: onesComplementSum(UnsafeRawPointer(o + at), count: IPv4Header.minimumLength)))
        // ICMP: type, code, checksum, unused, next-hop MTU; the quote is already in place.
        o.put8(icmp &+ ICMPHeader.typeOffset, ICMPv4Type.destinationUnreachable)
        o.put8(icmp &+ ICMPHeader.codeOffset, ICMPv4Type.fragmentationNeededCode)
        o.put16(icmp &+ ICMPHeader.checksumOffset, 0)
        o.put16(icmp &+ ICMPHeader.restOffset, 0)
        o.put16(icmp &+ ICMPHeader.nextHopMTUOffset, UInt16(truncatingIfNeeded: mtu))
        o.put16(icmp &+ ICMPHeader.checksumOffset,
                ~UInt16(truncatingIfNeeded: onesComplementSum(UnsafeRawPointer(o + icmp), count: ICMPHeader.length &+ quote)))
        counters.bump(.tooBigAnswered)
        return PacketResult(action: .reply, offset: start, length: answerHeaderLengthIPv4 &+ quote)
    }

    /// ICMPv6 type 2 from the VIP to the client, quoting as much of the packet as fits in
    /// IPv6's minimum MTU (RFC 4443 §3.2).
    @inlinable
    static func answerPacketTooBig(_ frame: FrameSpan, flow: Flow, mtu: Int, portMAC: (UInt32, UInt16),
                                   counters: WorkerCounters) -> PacketResult {
        let ip = UnsafeRawPointer(frame.start + flow.l3)
        let quote = min(flow.innerLength, ipv6MinimumMTU &- IPv6Header.length &- ICMPHeader.length)
        let start = flow.l3 &- answerHeaderLengthIPv6
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        let client = clientMAC(frame)
        let o = frame.start + start
        putEthernet(o, to: client, from: portMAC, etherType: EtherType.ipv6)
        let at = answerIP, icmp = answerICMPv6
        let icmpLength = ICMPHeader.length &+ quote
        o.put32(at, ipv6VersionWord)
        o.put16(at &+ IPv6Header.payloadLengthOffset, UInt16(truncatingIfNeeded: icmpLength))
        o.put8(at &+ IPv6Header.nextHeaderOffset, IPProtocol.icmpv6)
        o.put8(at &+ IPv6Header.hopLimitOffset, outerHopLimit)
        // From the VIP to the client.
        o.putRaw64(at &+ IPv6Header.sourceOffset, ip.raw64(IPv6Header.destinationOffset))
        o.putRaw64(at &+ IPv6Header.sourceOffset &+ 8, ip.raw64(IPv6Header.destinationOffset &+ 8))
        o.putRaw64(at &+ IPv6Header.destinationOffset, ip.raw64(IPv6Header.sourceOffset))
        o.putRaw64(at &+ IPv6Header.destinationOffset &+ 8, ip.raw64(IPv6Header.sourceOffset &+ 8))
        o.put8(icmp &+ ICMPHeader.typeOffset, ICMPv6Type.packetTooBig)
        o.put8(icmp &+ ICMPHeader.codeOffset, 0)
        o.put16(icmp &+ ICMPHeader.checksumOffset, 0)
        o.put32(icmp &+ ICMPHeader.restOffset, UInt32(truncatingIfNeeded: mtu))
        // The checksum covers the pseudo-header too.
        var sum = UInt64(pseudoHeaderSumIPv6(o + at, length: icmpLength, nextHeader: IPProtocol.icmpv6))
        sum &+= onesComplementSum(UnsafeRawPointer(o) + icmp, count: icmpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        o.put16(icmp &+ ICMPHeader.checksumOffset, ~UInt16(truncatingIfNeeded: sum))
        counters.bump(.tooBigAnswered)
        return PacketResult(action: .reply, offset: start, length: answerHeaderLengthIPv6 &+ quote)
    }
}
