import GLBCore

/// The GLB GUE encapsulation over an IPv6 underlay (docs/design.md §3, "IPv6 underlay"):
/// the same UDP and GUE headers as over IPv4, with GLB private type 1, whose hops are
/// 16-byte IPv6 addresses. Out of line: IPv4 routes are the common case.
extension PacketProcessor {
    /// Hop limit of the outer header (as TTL 64 over IPv4).
    @inlinable static var outerHopLimit: UInt8 { 64 }
    /// The flow label carries the low 20 bits of the packet hash, so the underlay's ECMP can
    /// spread flows (RFC 6438) as it does with the UDP source port.
    @inlinable static var flowLabelMask: UInt64 { 0xfffff }
    /// Version 6, traffic class 0, in the first word of the IPv6 header.
    @inlinable static var ipv6VersionWord: UInt32 { 0x6000_0000 }

    @inlinable @inline(never)
    static func encapsulateOverIPv6(_ frame: FrameSpan, flow: Flow, route: Route, plane: UnsafePointer<PlaneView>,
                                    portMAC: (UInt32, UInt16), counters: WorkerCounters) -> PacketResult {
        guard isIPv6Route(route.main), route.hopCount == 1 || isIPv6Route(route.alternate) else { return drop(.unusableRoute, counters) }
        let at = OuterOffsets.ipv6
        let encapLength = at.length(hops: route.hopCount)
        let start = flow.l3 &- encapLength
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        let udpLength = encapLength &- at.udp &+ flow.innerLength
        let ipLength = udpLength &+ (at.udp &- at.ip)
        guard ipLength <= plane.pointee.outerLimit else {
            return tooBig(frame, flow: flow, plane: plane, portMAC: portMAC, counters: counters,
                          outerLength: ipLength, overhead: encapLength &- at.ip)
        }
        let backends = plane.pointee.tables[flow.table].backends6
        let o = frame.start + start
        // Ethernet: to the gateway, from this port.
        putEthernet(o, to: plane.pointee.gatewayMAC, from: portMAC, etherType: EtherType.ipv6)
        // IPv6: version 6, traffic class 0, flow label from the hash; UDP; from outbound_src_ipv6.
        o.put32(at.ip, ipv6VersionWord | UInt32(truncatingIfNeeded: route.hash & flowLabelMask))
        o.put16(at.ip &+ IPv6Header.payloadLengthOffset, UInt16(truncatingIfNeeded: udpLength))
        o.put8(at.ip &+ IPv6Header.nextHeaderOffset, IPProtocol.udp)
        o.put8(at.ip &+ IPv6Header.hopLimitOffset, outerHopLimit)
        let source = plane.pointee.sourceIPv6
        o.putRaw64(at.ip &+ IPv6Header.sourceOffset, source.0)
        o.putRaw64(at.ip &+ IPv6Header.sourceOffset &+ 8, source.1)
        putBackend(o, at.ip &+ IPv6Header.destinationOffset, backends, RouteWord.primaryIndex(route.main))
        // UDP: the source port spreads flows over the backend's receive queues, as over IPv4.
        putUDP(o, at: at.udp, sourcePort: sourcePortBase | UInt16(truncatingIfNeeded: (route.hash ^ UInt64(flow.hint)) & sourcePortHashMask),
               length: udpLength)
        putGUE(o, at: at, innerProtocol: flow.gueProtocol, privateType: GUE.privateTypeIPv6Hops, hopCount: route.hopCount)
        putBackend(o, at.hops, backends, RouteWord.secondaryIndex(route.main))
        if route.hopCount == 3 {
            putBackend(o, at.hops &+ at.hopSize, backends, RouteWord.primaryIndex(route.alternate))
            putBackend(o, at.hops &+ 2 &* at.hopSize, backends, RouteWord.secondaryIndex(route.alternate))
        }
        // The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1): the NIC's where it can.
        countForwarded(flow, counters)
        if plane.pointee.flags & PlaneView.udpChecksumOffload != 0 {
            o.put16(at.udp &+ UDPHeader.checksumOffset, pseudoHeaderSumIPv6(o + at.ip, length: udpLength, nextHeader: IPProtocol.udp))
            return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength, checksumOffload: .ipv6)
        }
        o.put16(at.udp &+ UDPHeader.checksumOffset,
                udpChecksum(o, udp: at.udp, udpLength: udpLength,
                            pseudoHeaderSum: pseudoHeaderSumIPv6(o + at.ip, length: udpLength, nextHeader: IPProtocol.udp)))
        return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength)
    }

    @inlinable @inline(__always)
    static func isIPv6Route(_ route: UInt64) -> Bool {
        !RouteWord.isIPv4(route) && RouteWord.kind(route) == RouteWord.ipv6Kind
    }

    /// Writes backend `index`'s IPv6 address at `o + at`.
    @inlinable @inline(__always)
    static func putBackend(_ o: UnsafeMutableRawPointer, _ at: Int, _ backends: UnsafePointer<UInt64>, _ index: Int) {
        o.putRaw64(at, backends[index &* 2])
        o.putRaw64(at &+ 8, backends[index &* 2 &+ 1])
    }

    /// The sum of the pseudo-header of the IPv6 header at `ip` (RFC 8200 §8.1: its source
    /// and destination, the upper-layer `length` and `nextHeader`), folded but not
    /// complemented (see `pseudoHeaderSumIPv4`). The UDP checksum of the encapsulation and the
    /// ICMPv6 checksum of a "packet too big" answer both start from it.
    @inlinable
    static func pseudoHeaderSumIPv6(_ ip: UnsafeMutableRawPointer, length: Int, nextHeader: UInt8) -> UInt16 {
        // Source and destination: 32 bytes from the source address.
        var sum = onesComplementSum(UnsafeRawPointer(ip) + IPv6Header.sourceOffset, count: 32) &+ UInt64(length) &+ UInt64(nextHeader)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        return UInt16(truncatingIfNeeded: sum)
    }
}
