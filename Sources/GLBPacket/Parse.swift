import GLBCore

/// Stage 1 of the packet path: parse the frame and classify it against the binds
/// (docs/design.md §6). Reads only; writes nothing but `Flow`.
extension PacketProcessor {
    /// Ethernet (with at most one 802.1Q tag), then IPv4 or IPv6.
    @inlinable @inline(__always)
    static func parse(_ p: UnsafeRawPointer, length: Int, plane: UnsafePointer<PlaneView>, receivingMAC: (UInt32, UInt16),
                      flow: inout Flow) -> ParseOutcome {
        guard length >= EthernetHeader.length else { return .drop(.malformedEthernet) }
        var l3 = EthernetHeader.length
        var etherType = p.be16(EthernetHeader.typeOffset)
        if etherType == EtherType.vlan {
            guard length >= EthernetHeader.length &+ vlanTagLength else { return .drop(.malformedEthernet) }
            etherType = p.be16(EthernetHeader.typeOffset &+ vlanTagLength)
            l3 = EthernetHeader.length &+ vlanTagLength
        }
        if plane.pointee.flags & PlaneView.dropForeignMAC != 0 && !isForUs(p, receivingMAC) {
            return .drop(.foreignDestinationMAC)
        }
        flow.l3 = l3
        if etherType == EtherType.ipv4 { return parseIPv4(p, l3: l3, length: length, plane: plane, flow: &flow) }
        if etherType == EtherType.ipv6 { return parseIPv6(p, l3: l3, length: length, plane: plane, flow: &flow) }
        return .exception(.notIP)
    }

    @usableFromInline static let vlanTagLength = 4

    /// Unicast to the port's MAC, or broadcast/multicast.
    @inlinable @inline(__always)
    static func isForUs(_ p: UnsafeRawPointer, _ mac: (UInt32, UInt16)) -> Bool {
        let dst = EthernetHeader.destinationOffset
        return p.u8(dst) & 1 != 0 || (p.raw32(dst) == mac.0 && p.raw16(dst &+ 4) == mac.1)
    }

    // MARK: IPv4

    @inlinable @inline(__always)
    static func parseIPv4(_ p: UnsafeRawPointer, l3: Int, length: Int, plane: UnsafePointer<PlaneView>, flow: inout Flow) -> ParseOutcome {
        guard length &- l3 >= IPv4Header.minimumLength else { return .drop(.malformedIPv4Header) }
        let ip = p + l3
        let versionIHL = ip.u8(IPv4Header.versionIHLOffset)
        let ihl = Int(versionIHL & 0x0f) &* 4
        guard versionIHL >> 4 == IPv4Header.version, ihl >= IPv4Header.minimumLength else { return .drop(.malformedIPv4Header) }
        let total = Int(ip.be16(IPv4Header.totalLengthOffset))
        guard total >= ihl, l3 &+ total <= length else { return .drop(.malformedIPLength) }
        flow.innerLength = total
        flow.gueProtocol = IPProtocol.ipv4
        let proto = ip.u8(IPv4Header.protocolOffset)
        let l4 = ip + ihl
        let l4Length = total &- ihl
        let src = ip + IPv4Header.sourceOffset, dst = ip + IPv4Header.destinationOffset
        if ip.be16(IPv4Header.flagsFragmentOffset) & IPv4Header.fragmentOffsetMask != 0 {
            return nonFirstFragment(hi: 0, lo: UInt64(dst.be32(0)), bits: 32, proto: proto, src: src, dst: dst, plane: plane, flow: &flow)
        }
        if proto == IPProtocol.tcp || proto == IPProtocol.udp {
            return matchTransport(plane.pointee.ipv4, hi: 0, lo: UInt64(dst.be32(0)), proto: proto,
                                  l4: l4, l4Length: l4Length, src: src, dst: dst, flow: &flow)
        }
        if proto == IPProtocol.icmp {
            return icmpv4(ip, l4: l4, l4Length: l4Length, plane: plane, flow: &flow)
        }
        return .exception(.notMatched)
    }

    /// ICMPv4: fragmentation-needed errors about a flow of a bind (rule 2), echo requests (rule 3).
    @inlinable @inline(never)
    static func icmpv4(_ ip: UnsafeRawPointer, l4: UnsafeRawPointer, l4Length: Int, plane: UnsafePointer<PlaneView>, flow: inout Flow) -> ParseOutcome {
        guard l4Length >= 4 else { return .drop(.malformedICMP) }
        let type = l4.u8(ICMPHeader.typeOffset), code = l4.u8(ICMPHeader.codeOffset)
        if type == ICMPv4Type.destinationUnreachable && code == ICMPv4Type.fragmentationNeededCode {
            // The quoted packet was sent by a VIP: reverse its tuple to find the flow.
            guard l4Length >= ICMPHeader.length &+ IPv4Header.minimumLength else { return .drop(.malformedICMP) }
            let q = l4 + ICMPHeader.length
            let qVersionIHL = q.u8(IPv4Header.versionIHLOffset)
            let qihl = Int(qVersionIHL & 0x0f) &* 4
            guard qVersionIHL >> 4 == IPv4Header.version, qihl >= IPv4Header.minimumLength, l4Length >= ICMPHeader.length &+ qihl &+ 4 else {
                return .drop(.malformedICMP)
            }
            let qproto = q.u8(IPv4Header.protocolOffset)
            // A quoted fragment after the first has no ports where they would be (as for IPv6).
            guard qproto == IPProtocol.tcp || qproto == IPProtocol.udp,
                  q.be16(IPv4Header.flagsFragmentOffset) & IPv4Header.fragmentOffsetMask == 0 else { return .exception(.notMatched) }
            let qSrc = q + IPv4Header.sourceOffset, qDst = q + IPv4Header.destinationOffset
            return matchQuotedFlow(plane.pointee.ipv4, to: (0, UInt64(ip.be32(IPv4Header.destinationOffset))), vip: (0, UInt64(qSrc.be32(0))),
                                   bits: 32, proto: qproto, ports: q + qihl, src: qDst, dst: qSrc, flow: &flow)
        }
        if type == ICMPv4Type.echoRequest && code == 0 && plane.pointee.flags & PlaneView.forwardEcho != 0 {
            return matchEcho(plane.pointee.ipv4, hi: 0, lo: UInt64(ip.be32(IPv4Header.destinationOffset)),
                             src: ip + IPv4Header.sourceOffset, dst: ip + IPv4Header.destinationOffset,
                             hint: ip.be16(IPv4Header.identificationOffset), flow: &flow)
        }
        return .exception(.notMatched)
    }

    /// A fragment after the first carries no ports: forward it only when no hash uses ports and
    /// exactly one table binds its destination and protocol.
    @inlinable @inline(never)
    static func nonFirstFragment(hi: UInt64, lo: UInt64, bits: Int, proto: UInt8, src: UnsafeRawPointer, dst: UnsafeRawPointer,
                                 plane: UnsafePointer<PlaneView>, flow: inout Flow) -> ParseOutcome {
        guard plane.pointee.flags & PlaneView.forwardFragments != 0 else { return .drop(.unroutableFragment) }
        let classifier = bits == 32 ? plane.pointee.ipv4 : plane.pointee.ipv6
        let match = classifier.lookupUnique(hi: hi, lo: lo, proto: proto)
        guard match.isMatch else { return .drop(.unroutableFragment) }
        flow.set(table: match.table, src: src, dst: dst, srcPort: 0, dstPort: 0, hint: 0, kind: .forwardedFragment)
        return .flow
    }

    // MARK: IPv6

    @inlinable @inline(__always)
    static func parseIPv6(_ p: UnsafeRawPointer, l3: Int, length: Int, plane: UnsafePointer<PlaneView>, flow: inout Flow) -> ParseOutcome {
        guard length &- l3 >= IPv6Header.length else { return .drop(.malformedIPv6Header) }
        let ip = p + l3
        guard ip.u8(0) >> 4 == IPv6Header.version else { return .drop(.malformedIPv6Header) }
        let total = IPv6Header.length &+ Int(ip.be16(IPv6Header.payloadLengthOffset))
        guard l3 &+ total <= length else { return .drop(.malformedIPLength) }
        flow.innerLength = total
        flow.gueProtocol = IPProtocol.ipv6
        var proto = ip.u8(IPv6Header.nextHeaderOffset)
        var offset = IPv6Header.length
        var fragmentOffset: UInt16 = 0
        if !isUpperLayer(proto) {
            guard skipExtensions(ip, total: total, proto: &proto, offset: &offset, fragmentOffset: &fragmentOffset) else {
                return .drop(.malformedIPv6Extension)
            }
        }
        let src = ip + IPv6Header.sourceOffset, dst = ip + IPv6Header.destinationOffset
        let dstHi = dst.be64(0), dstLo = dst.be64(8)
        if fragmentOffset != 0 {
            return nonFirstFragment(hi: dstHi, lo: dstLo, bits: 128, proto: proto, src: src, dst: dst, plane: plane, flow: &flow)
        }
        let l4 = ip + offset
        let l4Length = total &- offset
        if proto == IPProtocol.tcp || proto == IPProtocol.udp {
            return matchTransport(plane.pointee.ipv6, hi: dstHi, lo: dstLo, proto: proto,
                                  l4: l4, l4Length: l4Length, src: src, dst: dst, flow: &flow)
        }
        if proto == IPProtocol.icmpv6 {
            return icmpv6(ip, l4: l4, l4Length: l4Length, plane: plane, flow: &flow)
        }
        return .exception(.notMatched)
    }

    @inlinable @inline(__always)
    static func isUpperLayer(_ proto: UInt8) -> Bool {
        proto == IPProtocol.tcp || proto == IPProtocol.udp || proto == IPProtocol.icmpv6
    }

    /// Walks hop-by-hop, routing, destination-options, fragment and AH headers (at most 8) to
    /// the upper-layer protocol. Returns false when the chain runs past the packet.
    @inlinable @inline(never)
    static func skipExtensions(_ ip: UnsafeRawPointer, total: Int, proto: inout UInt8, offset: inout Int, fragmentOffset: inout UInt16) -> Bool {
        var hops = 0
        while hops < 8 {
            switch proto {
            case IPProtocol.hopByHop, IPProtocol.routing, IPProtocol.destinationOptions:
                guard offset &+ 8 <= total else { return false }
                let next = ip.u8(offset)
                offset &+= (Int(ip.u8(offset &+ 1)) &+ 1) &* 8
                proto = next
            case IPProtocol.authentication:
                guard offset &+ 8 <= total else { return false }
                let next = ip.u8(offset)
                offset &+= (Int(ip.u8(offset &+ 1)) &+ 2) &* 4
                proto = next
            case IPProtocol.fragment:
                guard offset &+ 8 <= total else { return false }
                proto = ip.u8(offset)
                fragmentOffset = ip.be16(offset &+ 2) & 0xfff8
                offset &+= 8
                return offset <= total
            default:
                return offset <= total
            }
            hops &+= 1
        }
        return isUpperLayer(proto) && offset <= total
    }

    /// ICMPv6: packet-too-big errors about a flow of a bind (rule 2), echo requests (rule 3).
    @inlinable @inline(never)
    static func icmpv6(_ ip: UnsafeRawPointer, l4: UnsafeRawPointer, l4Length: Int, plane: UnsafePointer<PlaneView>, flow: inout Flow) -> ParseOutcome {
        guard l4Length >= 4 else { return .drop(.malformedICMP) }
        let type = l4.u8(ICMPHeader.typeOffset), code = l4.u8(ICMPHeader.codeOffset)
        if type == ICMPv6Type.packetTooBig && code == 0 {
            guard l4Length >= ICMPHeader.length &+ IPv6Header.length else { return .drop(.malformedICMP) }
            let q = l4 + ICMPHeader.length
            let quotedLength = l4Length &- ICMPHeader.length
            guard q.u8(0) >> 4 == IPv6Header.version else { return .drop(.malformedICMP) }
            var qproto = q.u8(IPv6Header.nextHeaderOffset)
            var offset = IPv6Header.length
            var fragmentOffset: UInt16 = 0
            if !isUpperLayer(qproto) {
                guard skipExtensions(q, total: quotedLength, proto: &qproto, offset: &offset, fragmentOffset: &fragmentOffset) else {
                    return .drop(.malformedICMP)
                }
            }
            guard qproto == IPProtocol.tcp || qproto == IPProtocol.udp, fragmentOffset == 0 else { return .exception(.notMatched) }
            guard quotedLength >= offset &+ 4 else { return .drop(.malformedICMP) }
            let dst = ip + IPv6Header.destinationOffset
            let qSrc = q + IPv6Header.sourceOffset, qDst = q + IPv6Header.destinationOffset
            return matchQuotedFlow(plane.pointee.ipv6, to: (dst.be64(0), dst.be64(8)), vip: (qSrc.be64(0), qSrc.be64(8)), bits: 128,
                                   proto: qproto, ports: q + offset, src: qDst, dst: qSrc, flow: &flow)
        }
        if type == ICMPv6Type.echoRequest && code == 0 && plane.pointee.flags & PlaneView.forwardEcho != 0 {
            // The hint is the low 16 bits of the flow label.
            let src = ip + IPv6Header.sourceOffset, dst = ip + IPv6Header.destinationOffset
            return matchEcho(plane.pointee.ipv6, hi: dst.be64(0), lo: dst.be64(8), src: src, dst: dst,
                             hint: ip.be16(IPv6Header.flowLabelLowOffset), flow: &flow)
        }
        return .exception(.notMatched)
    }

    // MARK: Classification, for either address family

    /// A TCP or UDP packet to `hi`/`lo`: matched on its destination port.
    @inlinable @inline(__always)
    static func matchTransport(_ classifier: ClassifierView, hi: UInt64, lo: UInt64, proto: UInt8,
                               l4: UnsafeRawPointer, l4Length: Int, src: UnsafeRawPointer, dst: UnsafeRawPointer,
                               flow: inout Flow) -> ParseOutcome {
        guard l4Length >= 4 else { return .drop(.malformedTransport) }
        let match = classifier.lookup(hi: hi, lo: lo, proto: proto, port: l4.be16(TransportPorts.destinationOffset))
        guard match.isMatch else { return .exception(.notMatched) }
        let srcPort = TransportPorts.sourceOffset, dstPort = TransportPorts.destinationOffset
        flow.set(table: match.table, src: src, dst: dst, srcPort: l4.raw16(srcPort), dstPort: l4.raw16(dstPort), hint: l4.be16(srcPort),
                 kind: .forwarded)
        return .flow
    }

    /// An ICMP error quoting a packet a VIP sent (`vip`, its source; `ports` its ports): the flow
    /// with the quoted tuple reversed, when the error is addressed (`to`) within the same bind
    /// (`bits`: the family's address width, 32 or 128).
    @inlinable @inline(__always)
    static func matchQuotedFlow(_ classifier: ClassifierView, to: (UInt64, UInt64), vip: (UInt64, UInt64), bits: Int,
                                proto: UInt8, ports: UnsafeRawPointer, src: UnsafeRawPointer, dst: UnsafeRawPointer,
                                flow: inout Flow) -> ParseOutcome {
        // The quoted packet went from the VIP to the client: its source port is the bind's.
        let vipPort = TransportPorts.sourceOffset, clientPort = TransportPorts.destinationOffset
        let match = classifier.lookup(hi: vip.0, lo: vip.1, proto: proto, port: ports.be16(vipPort))
        guard match.isMatch else { return .exception(.notMatched) }
        guard ClassifierView.samePrefix(hi: to.0, lo: to.1, hi: vip.0, lo: vip.1, bits: bits, length: match.prefixLength) else {
            return .exception(.notMatched)
        }
        flow.set(table: match.table, src: src, dst: dst, srcPort: ports.raw16(clientPort), dstPort: ports.raw16(vipPort),
                 hint: ports.be16(clientPort), kind: .forwardedICMPError)
        return .flow
    }

    /// An echo request to an address some bind holds.
    @inlinable @inline(__always)
    static func matchEcho(_ classifier: ClassifierView, hi: UInt64, lo: UInt64, src: UnsafeRawPointer,
                          dst: UnsafeRawPointer, hint: UInt16, flow: inout Flow) -> ParseOutcome {
        let match = classifier.lookupAddress(hi: hi, lo: lo)
        guard match.isMatch else { return .exception(.notMatched) }
        flow.set(table: match.table, src: src, dst: dst, srcPort: 0, dstPort: 0, hint: hint, kind: .forwardedEcho)
        return .flow
    }
}

/// What stage 1 decided.
@frozen
@usableFromInline
enum ParseOutcome {
    /// A flow of a bind, described by `Flow`: route and encapsulate it.
    case flow
    /// For no bind (or not IP): hand it to the exception path unchanged; counted as this.
    case exception(Counter)
    /// Unusable (malformed, or refused by a rule): free it; counted as this.
    case drop(Counter)
}

/// What the parser found: the table, the hash inputs (pointing into the packet), the inner
/// packet's size and where it starts.
@frozen
@usableFromInline
struct Flow {
    @usableFromInline var table = 0
    @usableFromInline var src = UnsafeRawPointer(bitPattern: 1)!
    @usableFromInline var dst = UnsafeRawPointer(bitPattern: 1)!
    /// Ports as they lie in memory (network order).
    @usableFromInline var srcPort: UInt16 = 0
    @usableFromInline var dstPort: UInt16 = 0
    /// The flow hint of the UDP source port, host order.
    @usableFromInline var hint: UInt16 = 0
    @usableFromInline var kind = Counter.forwarded
    /// Where the inner IP packet starts in the frame, and its length by its own header.
    @usableFromInline var l3 = 14
    @usableFromInline var innerLength = 0
    /// GUE's protocol field: `IPProtocol.ipv4` for an IPv4 inner packet, `.ipv6` for IPv6.
    @usableFromInline var gueProtocol: UInt8 = 4

    @inlinable @inline(__always)
    init() {}

    @inlinable @inline(__always)
    mutating func set(table: Int, src: UnsafeRawPointer, dst: UnsafeRawPointer, srcPort: UInt16, dstPort: UInt16, hint: UInt16, kind: Counter) {
        self.table = table
        self.src = src
        self.dst = dst
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.hint = hint
        self.kind = kind
    }

    @inlinable @inline(__always)
    var isIPv6: Bool { gueProtocol == IPProtocol.ipv6 }
}
