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
        // The headers every packet of the plane shares, then this port's MAC and this packet's fields.
        plane.pointee.outerTemplateIPv4.copy(to: o)
        o.putRaw32(EthernetHeader.sourceOffset, portMAC.0)
        o.putRaw16(EthernetHeader.sourceOffset &+ 4, portMAC.1)
        // IPv4: the checksum from the constant words' sum.
        let primary = UInt32(truncatingIfNeeded: route.main)
        let dstHost = UInt32(bigEndian: primary)
        var sum = plane.pointee.checksumBase &+ UInt32(truncatingIfNeeded: ipTotal) &+ (dstHost &>> 16) &+ (dstHost & 0xffff)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        o.put16(at.ip &+ IPv4Header.totalLengthOffset, UInt16(truncatingIfNeeded: ipTotal))
        o.put16(at.ip &+ IPv4Header.checksumOffset, ~UInt16(truncatingIfNeeded: sum))
        o.putRaw32(at.ip &+ IPv4Header.destinationOffset, primary)
        // UDP: the source port spreads flows over the backend's receive queues.
        o.put16(at.udp &+ TransportPorts.sourceOffset,
                sourcePortBase | UInt16(truncatingIfNeeded: (route.hash ^ UInt64(flow.hint)) & sourcePortHashMask))
        o.put16(at.udp &+ UDPHeader.lengthOffset, UInt16(truncatingIfNeeded: udpLength))
        o.put8(at.gue &+ GUE.protocolOffset, flow.gueProtocol)
        o.putRaw32(at.hops, UInt32(truncatingIfNeeded: route.main &>> 32))
        if route.hopCount == 3 {
            o.putRaw32(at.hops &+ 4, UInt32(truncatingIfNeeded: route.alternate))
            o.putRaw32(at.hops &+ 8, UInt32(truncatingIfNeeded: route.alternate &>> 32))
        }
        var offload = ChecksumOffload.none
        if plane.pointee.flags & PlaneView.udpChecksum != 0 {
            if plane.pointee.flags & PlaneView.udpChecksumOffload != 0 {
                o.put16(at.udp &+ UDPHeader.checksumOffset, pseudoHeaderSumIPv4(o + at.ip, length: udpLength, protocol: IPProtocol.udp))
                offload = .ipv4
            } else {
                o.put16(at.udp &+ UDPHeader.checksumOffset,
                        udpChecksum(o, udp: at.udp, udpLength: udpLength,
                                    pseudoHeaderSum: pseudoHeaderSumIPv4(o + at.ip, length: udpLength, protocol: IPProtocol.udp)))
            }
        }
        countForwarded(flow, counters)
        return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength, checksumOffload: offload)
    }

    /// The outer headers of the IPv4 underlay as far as the hops, for a plane: every field the
    /// same for all its packets, written by the writers below. Per packet the port's MAC, the
    /// lengths, the checksum, the destination, the UDP source port, GUE's protocol and the hops
    /// are written over it (zeros here).
    static func outerTemplateIPv4(gatewayMAC: (UInt32, UInt16), sourceIP: UInt32, hopCount: Int) -> OuterTemplateIPv4 {
        var template = OuterTemplateIPv4()
        withUnsafeMutableBytes(of: &template.bytes) { raw in
            let o = raw.baseAddress!
            let at = OuterOffsets.ipv4
            putEthernet(o, to: gatewayMAC, from: (0, 0), etherType: EtherType.ipv4)
            // No options, DSCP/ECN 0, id 0, DF, TTL 64, UDP.
            o.put16(at.ip &+ IPv4Header.versionIHLOffset, outerVersionIHL)
            o.put32(at.ip &+ IPv4Header.identificationOffset, outerFlagsDF)
            o.put16(at.ip &+ IPv4Header.ttlOffset, outerTTLProtocol)
            o.putRaw32(at.ip &+ IPv4Header.sourceOffset, sourceIP)
            putUDP(o, at: at.udp, sourcePort: 0, length: 0)
            putGUE(o, at: at, innerProtocol: 0, privateType: GUE.privateTypeIPv4Hops, hopCount: hopCount)
        }
        return template
    }

    /// The UDP header of the encapsulation, to GUE's port, with a zero checksum (filled in
    /// afterwards where one is sent).
    @inlinable @inline(__always)
    static func putUDP(_ o: UnsafeMutableRawPointer, at udp: Int, sourcePort: UInt16, length: Int) {
        o.put16(udp &+ TransportPorts.sourceOffset, sourcePort)
        o.put16(udp &+ TransportPorts.destinationOffset, GUE.port)
        o.put16(udp &+ UDPHeader.lengthOffset, UInt16(truncatingIfNeeded: length))
        o.put16(udp &+ UDPHeader.checksumOffset, 0)
    }

    /// The GUE base header (version 0, C 0, hlen: the private data and hops in 32-bit words)
    /// and GLB's private data (its type, next hop 0, the number of hops after the first).
    @inlinable @inline(__always)
    static func putGUE(_ o: UnsafeMutableRawPointer, at: OuterOffsets, innerProtocol: UInt8, privateType: UInt16, hopCount: Int) {
        o.put8(at.gue &+ GUE.hlenOffset, UInt8(truncatingIfNeeded: 1 &+ (at.hopSize / 4) &* hopCount))
        o.put8(at.gue &+ GUE.protocolOffset, innerProtocol)
        o.put16(at.gue &+ GUE.flagsOffset, 0)
        o.put16(at.privateData &+ GUE.privateTypeOffset, privateType)
        o.put8(at.privateData &+ GUE.nextHopOffset, 0)
        o.put8(at.privateData &+ GUE.hopCountOffset, UInt8(truncatingIfNeeded: hopCount))
    }

    /// An Ethernet header; MACs as `MACAddress.packetWords`.
    @inlinable @inline(__always)
    static func putEthernet(_ o: UnsafeMutableRawPointer, to: (UInt32, UInt16), from: (UInt32, UInt16), etherType: UInt16) {
        o.putRaw32(EthernetHeader.destinationOffset, to.0)
        o.putRaw16(EthernetHeader.destinationOffset &+ 4, to.1)
        o.putRaw32(EthernetHeader.sourceOffset, from.0)
        o.putRaw16(EthernetHeader.sourceOffset &+ 4, from.1)
        o.put16(EthernetHeader.typeOffset, etherType)
    }

    /// The sum of the pseudo-header of the IPv4 header at `ip` (its source and destination,
    /// then `protocol` and the upper-layer `length`), folded but not complemented: what a NIC
    /// that computes UDP checksums expects in the checksum field.
    @inlinable
    static func pseudoHeaderSumIPv4(_ ip: UnsafeMutableRawPointer, length: Int, protocol: UInt8) -> UInt16 {
        // Source and destination: four 16-bit words from the source address.
        let a = UnsafeRawPointer(ip) + IPv4Header.sourceOffset
        var sum = UInt32(a.be16(0)) &+ UInt32(a.be16(2)) &+ UInt32(a.be16(4)) &+ UInt32(a.be16(6))
        sum &+= UInt32(`protocol`) &+ UInt32(truncatingIfNeeded: length)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The UDP checksum of the outer datagram at `o + udp`, from its pseudo-header's folded
    /// sum (`pseudoHeaderSumIPv4`, `pseudoHeaderSumIPv6`): for ports that cannot compute it.
    @inlinable @inline(never)
    static func udpChecksum(_ o: UnsafeMutableRawPointer, udp: Int, udpLength: Int, pseudoHeaderSum: UInt16) -> UInt16 {
        var sum = UInt64(pseudoHeaderSum) &+ onesComplementSum(UnsafeRawPointer(o) + udp, count: udpLength)
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum &>> 16) }
        let folded = ~UInt16(truncatingIfNeeded: sum)
        // A computed 0 is sent as 0xffff: 0 means "no checksum" (RFC 768).
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

/// The first 50 bytes of an IPv4-underlay encapsulation (Ethernet, IPv4, UDP, GUE and GLB's
/// private data), as `PacketProcessor.outerTemplateIPv4` builds them for a plane: copied in
/// front of each packet in seven stores instead of writing some twenty fields one by one.
@frozen
public struct OuterTemplateIPv4 {
    @usableFromInline var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt16) = (0, 0, 0, 0, 0, 0, 0)

    init() {}

    @inlinable @inline(__always)
    func copy(to o: UnsafeMutableRawPointer) {
        o.putRaw64(0, bytes.0)
        o.putRaw64(8, bytes.1)
        o.putRaw64(16, bytes.2)
        o.putRaw64(24, bytes.3)
        o.putRaw64(32, bytes.4)
        o.putRaw64(40, bytes.5)
        o.putRaw16(48, bytes.6)
    }
}
