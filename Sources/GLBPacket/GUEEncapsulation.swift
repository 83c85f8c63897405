/// Writes the GLB GUE encapsulation of docs/design.md §3 in front of the inner IP packet.
extension PacketProcessor {
    /// Bytes of Ethernet + IPv4 + UDP + GUE base header + GLB private data, before the hops.
    @usableFromInline static let fixedEncapsulationLength = 14 + 20 + 8 + 4 + 4
    @usableFromInline static let guePort: UInt16 = 19523

    @inlinable @inline(__always)
    static func encapsulate(_ frame: UnsafeMutableRawPointer, l3: Int, headroom: Int, flow: Flow, plane: UnsafePointer<PlaneView>,
                            portMAC: (UInt32, UInt16), counters: WorkerCounters) -> PacketResult {
        let table = plane.pointee.tables[flow.table]
        let ipv6 = flow.gueProtocol == 41
        let hash = flowHash(key: table.hashKey, fields: plane.pointee.hashFields, ipv6: ipv6, src: flow.src, dst: flow.dst,
                            srcPort: flow.srcPort, dstPort: flow.dstPort)
        let route = table.routes[Int(truncatingIfNeeded: hash & 0xffff)]
        let altFields = plane.pointee.altHashFields
        var altRoute: UInt64 = 0
        var hopEntries = 1
        if altFields != 0 {
            let altHash = flowHash(key: table.hashKey, fields: altFields, ipv6: ipv6, src: flow.src, dst: flow.dst,
                                   srcPort: flow.srcPort, dstPort: flow.dstPort)
            altRoute = table.routes[Int(truncatingIfNeeded: altHash & 0xffff)]
            hopEntries = 3
        }
        // An IPv6 or unusable route (rare) is handled out of line; see RouteWord.
        guard RouteWord.isIPv4(route), altFields == 0 || RouteWord.isIPv4(altRoute) else {
            return encapsulateOverIPv6(frame, l3: l3, headroom: headroom, flow: flow, plane: plane, portMAC: portMAC,
                                       counters: counters, hash: hash, route: route, altRoute: altRoute, hopEntries: hopEntries)
        }
        let primary = UInt32(truncatingIfNeeded: route)
        let secondary = UInt32(truncatingIfNeeded: route &>> 32)

        let encapLength = fixedEncapsulationLength &+ 4 &* hopEntries
        let start = l3 &- encapLength
        guard start >= -headroom else { return drop(.noHeadroom, counters) }
        let udpLength = 16 &+ 4 &* hopEntries &+ flow.innerLength
        // tunnel_mtu, or the largest IPv4 packet: one comparison for both.
        guard udpLength &+ 20 <= plane.pointee.outerLimit else {
            return tooBig(frame, l3: l3, headroom: headroom, flow: flow, plane: plane, portMAC: portMAC, counters: counters,
                          outerLength: udpLength &+ 20, overhead: encapLength &- 14)
        }

        let o = frame + start
        // Ethernet: to the gateway, from this port.
        let gateway = plane.pointee.gatewayMAC
        o.putRaw32(0, gateway.0)
        o.putRaw16(4, gateway.1)
        o.putRaw32(6, portMAC.0)
        o.putRaw16(10, portMAC.1)
        o.put16(12, 0x0800)
        // IPv4: no options, id 0, DF, TTL 64, UDP.
        let ipTotal = 20 &+ udpLength
        let dstHost = UInt32(bigEndian: primary)
        var sum = plane.pointee.checksumBase &+ UInt32(truncatingIfNeeded: ipTotal) &+ (dstHost &>> 16) &+ (dstHost & 0xffff)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        sum = (sum & 0xffff) &+ (sum &>> 16)
        o.put16(14, 0x4500)
        o.put16(16, UInt16(truncatingIfNeeded: ipTotal))
        o.put32(18, 0x0000_4000)
        o.put16(22, 0x4011)
        o.put16(24, ~UInt16(truncatingIfNeeded: sum))
        o.putRaw32(26, plane.pointee.sourceIP)
        o.putRaw32(30, primary)
        // UDP: the source port spreads flows over the backend's receive queues.
        o.put16(34, 0x8000 | UInt16(truncatingIfNeeded: (hash ^ UInt64(flow.hint)) & 0x7fff))
        o.put16(36, guePort)
        o.put16(38, UInt16(truncatingIfNeeded: udpLength))
        o.put16(40, 0)
        // GUE base header: version 0, C 0, hlen = private data + hops (32-bit words).
        o.put8(42, UInt8(truncatingIfNeeded: 1 &+ hopEntries))
        o.put8(43, flow.gueProtocol)
        o.put16(44, 0)
        // GLB private data: type 0, next hop 0, the hops after the first.
        o.put16(46, 0)
        o.put8(48, 0)
        o.put8(49, UInt8(truncatingIfNeeded: hopEntries))
        o.putRaw32(50, secondary)
        if altFields != 0 {
            o.putRaw32(54, UInt32(truncatingIfNeeded: altRoute))
            o.putRaw32(58, UInt32(truncatingIfNeeded: altRoute &>> 32))
        }
        if plane.pointee.flags & PlaneView.udpChecksum != 0 {
            o.put16(40, udpChecksum(o, udpLength: udpLength))
        }
        counters.bump(.forwarded)
        if flow.kind != .forwarded { counters.bump(flow.kind) }
        counters.bumpTable(flow.table)
        return PacketResult(action: .forward, offset: start, length: encapLength &+ flow.innerLength)
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
