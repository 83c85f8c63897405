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
        o.put16(at.ip &+ 4, UInt16(truncatingIfNeeded: udpLength))
        o.put8(at.ip &+ 6, IPProtocol.udp)
        o.put8(at.ip &+ 7, outerHopLimit)
        let source = plane.pointee.sourceIPv6
        o.putRaw64(at.ip &+ 8, source.0)
        o.putRaw64(at.ip &+ 16, source.1)
        putBackend(o, at.ip &+ 24, backends, RouteWord.primaryIndex(route.main))
        // UDP: the source port spreads flows over the backend's receive queues, as over IPv4.
        o.put16(at.udp, sourcePortBase | UInt16(truncatingIfNeeded: (route.hash ^ UInt64(flow.hint)) & sourcePortHashMask))
        o.put16(at.udp &+ 2, GUE.port)
        o.put16(at.udp &+ 4, UInt16(truncatingIfNeeded: udpLength))
        o.put16(at.udp &+ 6, 0)
        // GUE base header: version 0, C 0, hlen = private data + hops (32-bit words).
        o.put8(at.gue, UInt8(truncatingIfNeeded: 1 &+ (at.hopSize / 4) &* route.hopCount))
        o.put8(at.gue &+ 1, flow.gueProtocol)
        o.put16(at.gue &+ 2, 0)
        // GLB private data: type 1 (IPv6 hops), next hop 0, the hops after the first.
        o.put16(at.privateData, GUE.privateTypeIPv6Hops)
        o.put8(at.privateData &+ 2, 0)
        o.put8(at.privateData &+ 3, UInt8(truncatingIfNeeded: route.hopCount))
        putBackend(o, at.hops, backends, RouteWord.secondaryIndex(route.main))
        if route.hopCount == 3 {
            putBackend(o, at.hops &+ at.hopSize, backends, RouteWord.primaryIndex(route.alternate))
            putBackend(o, at.hops &+ 2 &* at.hopSize, backends, RouteWord.secondaryIndex(route.alternate))
        }
        // The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1): the NIC's where it can.
        countForwarded(flow, counters)
        if plane.pointee.flags & PlaneView.udpChecksumOffload != 0 {
            o.put16(at.udp &+ 6, pseudoHeaderSumIPv6(o, udpLength: udpLength))
            return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength, checksumOffload: .ipv6)
        }
        o.put16(at.udp &+ 6, udpChecksumIPv6(o, udpLength: udpLength))
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

    /// The sum of the outer IPv6 pseudo-header, folded but not complemented (see
    /// `pseudoHeaderSumIPv4`).
    @inlinable
    static func pseudoHeaderSumIPv6(_ o: UnsafeMutableRawPointer, udpLength: Int) -> UInt16 {
        let at = OuterOffsets.ipv6
        var sum = onesComplementSum(UnsafeRawPointer(o) + (at.ip &+ 8), count: 32) &+ UInt64(udpLength) &+ UInt64(IPProtocol.udp)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The UDP checksum of the outer datagram, over the IPv6 pseudo-header
    /// (source, destination, upper-layer length, next header).
    @inlinable
    static func udpChecksumIPv6(_ o: UnsafeMutableRawPointer, udpLength: Int) -> UInt16 {
        let p = UnsafeRawPointer(o)
        let at = OuterOffsets.ipv6
        var sum = onesComplementSum(p + (at.ip &+ 8), count: 32) &+ UInt64(udpLength) &+ UInt64(IPProtocol.udp)
        sum &+= onesComplementSum(p + at.udp, count: udpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        let folded = ~UInt16(truncatingIfNeeded: sum)
        return folded == 0 ? 0xffff : folded
    }
}
