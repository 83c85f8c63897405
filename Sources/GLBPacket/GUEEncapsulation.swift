import GLBCore

/// Stage 3 of the packet path: writes the GLB GUE encapsulation of docs/design.md §3 in front
/// of the inner IP packet, over an IPv4 underlay (IPv6: `GUEEncapsulationIPv6.swift`).
extension PacketProcessor {
    /// Outer IPv4 header words that never vary: version 4 and IHL 5, DSCP/ECN 0; flags DF and
    /// fragment offset 0; TTL 64 and protocol UDP.
    @inlinable static var outerVersionIHL: UInt16 { 0x4500 }
    @inlinable static var outerFlagsDF: UInt32 { 0x0000_4000 }
    @inlinable static var outerTTLProtocol: UInt16 { 0x4011 }
    /// The UDP source port's top bit is set; the rest carries the hash (docs/design.md §3).
    @inlinable static var sourcePortBase: UInt16 { 0x8000 }
    @inlinable static var sourcePortHashMask: UInt64 { 0x7fff }

    @inlinable @inline(__always)
    static func encapsulate(_ frame: FrameSpan, flow: Flow, route: Route, plane: UnsafePointer<PlaneView>,
                            portMAC: (UInt32, UInt16), counters: WorkerCounters) -> PacketResult {
        // An IPv6 or unusable route (rare) is handled out of line; see RouteWord.
        guard route.isIPv4 else {
            return encapsulateOverIPv6(frame, flow: flow, route: route, plane: plane, portMAC: portMAC, counters: counters)
        }
        let at = OuterOffsets.ipv4
        let encapLength = at.length(hops: route.hopCount)
        let start = flow.l3 &- encapLength
        guard start >= -frame.headroom else { return drop(.noHeadroom, counters) }
        let udpLength = encapLength &- at.udp &+ flow.innerLength
        let ipTotal = udpLength &+ (at.udp &- at.ip)
        // tunnel_mtu, or the largest IPv4 packet: one comparison for both.
        guard ipTotal <= plane.pointee.outerLimit else {
            return tooBig(frame, flow: flow, plane: plane, portMAC: portMAC, counters: counters,
                          outerLength: ipTotal, overhead: encapLength &- at.ip)
        }
        let o = frame.start + start
        // Ethernet: to the gateway, from this port.
        putEthernet(o, to: plane.pointee.gatewayMAC, from: portMAC, etherType: EtherType.ipv4)
        // IPv4: no options, id 0, DF, TTL 64, UDP; the checksum from the constant words' sum.
        let primary = UInt32(truncatingIfNeeded: route.main)
        let dstHost = UInt32(bigEndian: primary)
        var sum = plane.pointee.checksumBase &+ UInt32(truncatingIfNeeded: ipTotal) &+ (dstHost &>> 16) &+ (dstHost & 0xffff)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        o.put16(at.ip, outerVersionIHL)
        o.put16(at.ip &+ 2, UInt16(truncatingIfNeeded: ipTotal))
        o.put32(at.ip &+ 4, outerFlagsDF)
        o.put16(at.ip &+ 8, outerTTLProtocol)
        o.put16(at.ip &+ 10, ~UInt16(truncatingIfNeeded: sum))
        o.putRaw32(at.ip &+ 12, plane.pointee.sourceIP)
        o.putRaw32(at.ip &+ 16, primary)
        // UDP: the source port spreads flows over the backend's receive queues.
        o.put16(at.udp, sourcePortBase | UInt16(truncatingIfNeeded: (route.hash ^ UInt64(flow.hint)) & sourcePortHashMask))
        o.put16(at.udp &+ 2, GUE.port)
        o.put16(at.udp &+ 4, UInt16(truncatingIfNeeded: udpLength))
        o.put16(at.udp &+ 6, 0)
        // GUE base header: version 0, C 0, hlen = private data + hops (32-bit words).
        o.put8(at.gue, UInt8(truncatingIfNeeded: 1 &+ route.hopCount))
        o.put8(at.gue &+ 1, flow.gueProtocol)
        o.put16(at.gue &+ 2, 0)
        // GLB private data: type 0 (IPv4 hops), next hop 0, the hops after the first.
        o.put16(at.privateData, GUE.privateTypeIPv4Hops)
        o.put8(at.privateData &+ 2, 0)
        o.put8(at.privateData &+ 3, UInt8(truncatingIfNeeded: route.hopCount))
        o.putRaw32(at.hops, UInt32(truncatingIfNeeded: route.main &>> 32))
        if route.hopCount == 3 {
            o.putRaw32(at.hops &+ 4, UInt32(truncatingIfNeeded: route.alternate))
            o.putRaw32(at.hops &+ 8, UInt32(truncatingIfNeeded: route.alternate &>> 32))
        }
        var offload = ChecksumOffload.none
        if plane.pointee.flags & PlaneView.udpChecksum != 0 {
            if plane.pointee.flags & PlaneView.udpChecksumOffload != 0 {
                o.put16(at.udp &+ 6, pseudoHeaderSumIPv4(o, udpLength: udpLength))
                offload = .ipv4
            } else {
                o.put16(at.udp &+ 6, udpChecksum(o, udpLength: udpLength))
            }
        }
        countForwarded(flow, counters)
        return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength, checksumOffload: offload)
    }

    /// An Ethernet header; MACs as `MACAddress.packetWords`.
    @inlinable @inline(__always)
    static func putEthernet(_ o: UnsafeMutableRawPointer, to: (UInt32, UInt16), from: (UInt32, UInt16), etherType: UInt16) {
        o.putRaw32(0, to.0)
        o.putRaw16(4, to.1)
        o.putRaw32(6, from.0)
        o.putRaw16(10, from.1)
        o.put16(EthernetHeader.typeOffset, etherType)
    }

    /// The sum of the outer IPv4 pseudo-header (source, destination, protocol, UDP length),
    /// folded but not complemented: what a NIC that computes UDP checksums expects in the
    /// checksum field.
    @inlinable
    static func pseudoHeaderSumIPv4(_ o: UnsafeMutableRawPointer, udpLength: Int) -> UInt16 {
        let at = OuterOffsets.ipv4
        var sum = onesComplementSum(UnsafeRawPointer(o) + (at.ip &+ 12), count: 8) &+ UInt64(IPProtocol.udp) &+ UInt64(udpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The UDP checksum of the outer datagram at `o + 34` (pseudo-header included).
    @inlinable @inline(never)
    static func udpChecksum(_ o: UnsafeMutableRawPointer, udpLength: Int) -> UInt16 {
        let p = UnsafeRawPointer(o)
        var sum: UInt64 = UInt64(p.be16(26)) &+ UInt64(p.be16(28)) &+ UInt64(p.be16(30)) &+ UInt64(p.be16(32))
        sum &+= 17 &+ UInt64(udpLength)
        sum &+= onesComplementSum(p + 34, count: udpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        let folded = ~UInt16(truncatingIfNeeded: sum)
        return folded == 0 ? 0xffff : folded
    }

    /// The one's complement sum of `count` bytes taken as big-endian 16-bit words, folded to
    /// 16 bits.
    ///
    /// The bytes are added as they lie in memory, 32 bits at a time into 64-bit accumulators
    /// (which cannot overflow for a datagram), then folded: one's complement addition gives the
    /// same result with any word size that is a multiple of 16 bits, and the sum of
    /// byte-swapped words is the byte-swapped sum (RFC 1071), so on a little-endian machine one
    /// swap at the end turns the sum of the words as loaded into the sum of big-endian words.
    @inlinable
    static func onesComplementSum(_ p: UnsafeRawPointer, count: Int) -> UInt64 {
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
        var i = 0
        // Sixteen bytes at a time, into four independent sums.
        while i &+ 16 <= count {
            let v = p.raw64(i), w = p.raw64(i &+ 8)
            a &+= v & 0xffff_ffff
            b &+= v &>> 32
            c &+= w & 0xffff_ffff
            d &+= w &>> 32
            i &+= 16
        }
        if i &+ 8 <= count {
            let v = p.raw64(i)
            a &+= v & 0xffff_ffff
            b &+= v &>> 32
            i &+= 8
        }
        if i &+ 4 <= count {
            c &+= UInt64(p.raw32(i))
            i &+= 4
        }
        if i &+ 2 <= count {
            d &+= UInt64(p.raw16(i))
            i &+= 2
        }
        // An odd last byte is the high byte of a word whose low byte is 0: in memory order,
        // the first byte of the word.
        if i < count { a &+= UInt64(p.u8(i)) }
        var sum = a &+ b &+ c &+ d
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        return UInt64(UInt16(truncatingIfNeeded: sum).bigEndian)
    }
}
