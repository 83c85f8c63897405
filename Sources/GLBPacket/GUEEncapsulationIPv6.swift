/// The GLB GUE encapsulation over an IPv6 underlay (docs/design.md §3, "IPv6 underlay"):
/// the same UDP and GUE headers as over IPv4, with GLB private type 1, whose hops are
/// 16-byte IPv6 addresses. Out of line: IPv4 routes are the common case.
extension PacketProcessor {
    /// Bytes of Ethernet + IPv6 + UDP + GUE base header + GLB private data, before the hops.
    @usableFromInline static let fixedEncapsulationLengthIPv6 = 14 + 40 + 8 + 4 + 4
    /// GLB private data type of a hop list of IPv6 addresses.
    @usableFromInline static let privateTypeIPv6Hops: UInt16 = 1
    @usableFromInline static let etherTypeIPv6: UInt16 = 0x86DD
    @usableFromInline static let ipProtocolUDP: UInt8 = 17
    /// Hop limit of the outer header (as TTL 64 over IPv4).
    @usableFromInline static let outerHopLimit: UInt8 = 64
    /// The flow label carries the low 20 bits of the packet hash, so the underlay's ECMP can
    /// spread flows (RFC 6438) as it does with the UDP source port.
    @usableFromInline static let flowLabelMask: UInt64 = 0xfffff

    @inlinable @inline(never)
    static func encapsulateOverIPv6(_ frame: UnsafeMutableRawPointer, l3: Int, headroom: Int, flow: Flow, plane: UnsafePointer<PlaneView>,
                                    portMAC: (UInt32, UInt16), counters: WorkerCounters, hash: UInt64, route: UInt64,
                                    altRoute: UInt64, hopEntries: Int) -> PacketResult {
        guard isIPv6Route(route), hopEntries == 1 || isIPv6Route(altRoute) else { return drop(.unusableRoute, counters) }
        let encapLength = fixedEncapsulationLengthIPv6 &+ 16 &* hopEntries
        let start = l3 &- encapLength
        guard start >= -headroom else { return drop(.noHeadroom, counters) }
        let udpLength = 16 &+ 16 &* hopEntries &+ flow.innerLength
        guard udpLength &+ 40 <= plane.pointee.outerLimit else {
            return tooBig(frame, l3: l3, headroom: headroom, flow: flow, plane: plane, portMAC: portMAC, counters: counters,
                          outerLength: udpLength &+ 40, overhead: encapLength &- 14)
        }
        let backends = plane.pointee.tables[flow.table].backends6
        let o = frame + start
        // Ethernet: to the gateway, from this port.
        let gateway = plane.pointee.gatewayMAC
        o.putRaw32(0, gateway.0)
        o.putRaw16(4, gateway.1)
        o.putRaw32(6, portMAC.0)
        o.putRaw16(10, portMAC.1)
        o.put16(12, etherTypeIPv6)
        // IPv6: version 6, traffic class 0, flow label from the hash; UDP; from outbound_src_ipv6.
        o.put32(14, 0x6000_0000 | UInt32(truncatingIfNeeded: hash & flowLabelMask))
        o.put16(18, UInt16(truncatingIfNeeded: udpLength))
        o.put8(20, ipProtocolUDP)
        o.put8(21, outerHopLimit)
        let source = plane.pointee.sourceIPv6
        o.putRaw64(22, source.0)
        o.putRaw64(30, source.1)
        putBackend(o, 38, backends, RouteWord.primaryIndex(route))
        // UDP: the source port spreads flows over the backend's receive queues, as over IPv4.
        o.put16(54, 0x8000 | UInt16(truncatingIfNeeded: (hash ^ UInt64(flow.hint)) & 0x7fff))
        o.put16(56, guePort)
        o.put16(58, UInt16(truncatingIfNeeded: udpLength))
        o.put16(60, 0)
        // GUE base header: version 0, C 0, hlen = private data + hops (32-bit words).
        o.put8(62, UInt8(truncatingIfNeeded: 1 &+ 4 &* hopEntries))
        o.put8(63, flow.gueProtocol)
        o.put16(64, 0)
        // GLB private data: type 1 (IPv6 hops), next hop 0, the hops after the first.
        o.put16(66, privateTypeIPv6Hops)
        o.put8(68, 0)
        o.put8(69, UInt8(truncatingIfNeeded: hopEntries))
        putBackend(o, 70, backends, RouteWord.secondaryIndex(route))
        if hopEntries == 3 {
            putBackend(o, 86, backends, RouteWord.primaryIndex(altRoute))
            putBackend(o, 102, backends, RouteWord.secondaryIndex(altRoute))
        }
        // The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1).
        o.put16(60, udpChecksumIPv6(o, udpLength: udpLength))
        counters.bump(.forwarded)
        if flow.kind != .forwarded { counters.bump(flow.kind) }
        counters.bumpTable(flow.table)
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

    /// The UDP checksum of the outer datagram at `o + 54`, over the IPv6 pseudo-header
    /// (source, destination, upper-layer length, next header).
    @inlinable
    static func udpChecksumIPv6(_ o: UnsafeMutableRawPointer, udpLength: Int) -> UInt16 {
        let p = UnsafeRawPointer(o)
        var sum = onesComplementSum(p + 22, count: 32) &+ UInt64(udpLength) &+ UInt64(ipProtocolUDP)
        sum &+= onesComplementSum(p + 54, count: udpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        let folded = ~UInt16(truncatingIfNeeded: sum)
        return folded == 0 ? 0xffff : folded
    }
}
