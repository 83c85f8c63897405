/// The names of the wire: the numbers the director, the CLI's `encap`, the health checker's
/// tunnel probe and the tests read and write, defined once (docs/design.md §3, §6). Computed
/// properties rather than stored constants, so that the packet path in other modules inlines
/// them as literals.

/// Ethernet types.
public enum EtherType {
    @inlinable public static var ipv4: UInt16 { 0x0800 }
    @inlinable public static var ipv6: UInt16 { 0x86DD }
    /// An 802.1Q tag, followed by the tag's 2 bytes and the real type.
    @inlinable public static var vlan: UInt16 { 0x8100 }
}

/// The Ethernet header (without an 802.1Q tag): two MACs, then the type.
public enum EthernetHeader {
    @inlinable public static var typeOffset: Int { 12 }
    @inlinable public static var length: Int { 14 }
}

/// IP protocol numbers (IPv4's protocol, IPv6's next header, GUE's protocol).
public enum IPProtocol {
    @inlinable public static var hopByHop: UInt8 { 0 }
    @inlinable public static var icmp: UInt8 { 1 }
    /// IPv4 in IP: GUE's protocol for an IPv4 inner packet.
    @inlinable public static var ipv4: UInt8 { 4 }
    @inlinable public static var tcp: UInt8 { 6 }
    @inlinable public static var udp: UInt8 { 17 }
    /// IPv6 in IP: GUE's protocol for an IPv6 inner packet.
    @inlinable public static var ipv6: UInt8 { 41 }
    @inlinable public static var routing: UInt8 { 43 }
    @inlinable public static var fragment: UInt8 { 44 }
    @inlinable public static var authentication: UInt8 { 51 }
    @inlinable public static var icmpv6: UInt8 { 58 }
    @inlinable public static var destinationOptions: UInt8 { 60 }
}

/// ICMPv4 types and codes the director reads or writes.
public enum ICMPv4Type {
    @inlinable public static var destinationUnreachable: UInt8 { 3 }
    /// Code of `destinationUnreachable`: fragmentation needed and DF set (RFC 1191).
    @inlinable public static var fragmentationNeededCode: UInt8 { 4 }
    @inlinable public static var echoRequest: UInt8 { 8 }
    @inlinable public static var echoReply: UInt8 { 0 }
}

/// ICMPv6 types the director reads or writes.
public enum ICMPv6Type {
    @inlinable public static var packetTooBig: UInt8 { 2 }
    @inlinable public static var echoRequest: UInt8 { 128 }
    @inlinable public static var echoReply: UInt8 { 129 }
}

/// GLB's GUE encapsulation (docs/design.md §3).
public enum GUE {
    /// The UDP port GUE is sent to.
    @inlinable public static var port: UInt16 { 19523 }
    /// GLB private data type of a hop list of 4-byte IPv4 addresses (GLB's own).
    @inlinable public static var privateTypeIPv4Hops: UInt16 { 0 }
    /// GLB private data type of a hop list of 16-byte IPv6 addresses (SwiftGLB's).
    @inlinable public static var privateTypeIPv6Hops: UInt16 { 1 }
    /// GUE base header + GLB private data header, before the hops.
    @inlinable public static var headerLength: Int { 8 }
}

/// Where each header of an encapsulated frame starts, from the first byte of the frame, over an
/// IPv4 underlay (`OuterOffsets.ipv4`) or an IPv6 one (`.ipv6`).
public struct OuterOffsets: Sendable {
    public let ip: Int
    public let udp: Int
    public let gue: Int
    /// GLB's private data: type (2 bytes), next hop, hop count.
    public let privateData: Int
    public let hops: Int
    /// Bytes of one hop's address.
    public let hopSize: Int

    @inlinable
    init(ipHeader: Int, hopSize: Int) {
        ip = EthernetHeader.length
        udp = ip + ipHeader
        gue = udp + 8
        privateData = gue + 4
        hops = privateData + 4
        self.hopSize = hopSize
    }

    @inlinable public static var ipv4: OuterOffsets { OuterOffsets(ipHeader: 20, hopSize: 4) }
    @inlinable public static var ipv6: OuterOffsets { OuterOffsets(ipHeader: 40, hopSize: 16) }

    /// Bytes in front of the inner IP packet: Ethernet, outer IP, UDP, GUE and `hops` hops.
    @inlinable public func length(hops count: Int) -> Int { hops &+ hopSize &* count }
}
