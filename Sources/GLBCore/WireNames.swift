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
    @inlinable public static var destinationOffset: Int { 0 }
    @inlinable public static var sourceOffset: Int { 6 }
    @inlinable public static var typeOffset: Int { 12 }
    @inlinable public static var length: Int { 14 }
}

/// The IPv4 header (RFC 791): where the fields the director reads and writes start.
public enum IPv4Header {
    @inlinable public static var version: UInt8 { 4 }
    /// Version (high 4 bits) and header length in 32-bit words (low 4 bits).
    @inlinable public static var versionIHLOffset: Int { 0 }
    @inlinable public static var totalLengthOffset: Int { 2 }
    @inlinable public static var identificationOffset: Int { 4 }
    /// Flags (high 3 bits: reserved, DF, MF) and fragment offset (low 13 bits).
    @inlinable public static var flagsFragmentOffset: Int { 6 }
    @inlinable public static var fragmentOffsetMask: UInt16 { 0x1fff }
    /// Time to live, followed by the protocol: written together as one 16-bit word.
    @inlinable public static var ttlOffset: Int { 8 }
    @inlinable public static var protocolOffset: Int { 9 }
    @inlinable public static var checksumOffset: Int { 10 }
    @inlinable public static var sourceOffset: Int { 12 }
    @inlinable public static var destinationOffset: Int { 16 }
    /// Without options.
    @inlinable public static var minimumLength: Int { 20 }
}

/// The IPv6 header (RFC 8200): where the fields the director reads start.
public enum IPv6Header {
    @inlinable public static var version: UInt8 { 6 }
    /// The low 16 bits of the flow label.
    @inlinable public static var flowLabelLowOffset: Int { 2 }
    @inlinable public static var payloadLengthOffset: Int { 4 }
    @inlinable public static var nextHeaderOffset: Int { 6 }
    @inlinable public static var hopLimitOffset: Int { 7 }
    @inlinable public static var sourceOffset: Int { 8 }
    @inlinable public static var destinationOffset: Int { 24 }
    @inlinable public static var length: Int { 40 }
}

/// The ports, where TCP's and UDP's headers both start with them.
public enum TransportPorts {
    @inlinable public static var sourceOffset: Int { 0 }
    @inlinable public static var destinationOffset: Int { 2 }
}

/// The UDP header (RFC 768): the ports (`TransportPorts`), then these.
public enum UDPHeader {
    @inlinable public static var lengthOffset: Int { 4 }
    @inlinable public static var checksumOffset: Int { 6 }
    @inlinable public static var length: Int { 8 }
}

/// The header of ICMP and ICMPv6 messages (RFC 792, RFC 4443): type, code, checksum, then 4
/// bytes that depend on the type; an error quotes the offending packet right after them.
public enum ICMPHeader {
    @inlinable public static var typeOffset: Int { 0 }
    @inlinable public static var codeOffset: Int { 1 }
    @inlinable public static var checksumOffset: Int { 2 }
    /// The 4 bytes that depend on the type: for ICMPv6 "packet too big", the MTU; for ICMP
    /// "fragmentation needed", 2 unused bytes and the next-hop MTU (RFC 1191).
    @inlinable public static var restOffset: Int { 4 }
    @inlinable public static var nextHopMTUOffset: Int { 6 }
    @inlinable public static var length: Int { 8 }
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
    /// In the GUE base header: the byte of version (2 bits, 0), C (1 bit, 0) and hlen (the
    /// private data's length in 32-bit words); the inner packet's IP protocol; the flags.
    @inlinable public static var hlenOffset: Int { 0 }
    @inlinable public static var protocolOffset: Int { 1 }
    @inlinable public static var flagsOffset: Int { 2 }
    /// In GLB's private data: its type, the index of the next hop, the number of hops.
    @inlinable public static var privateTypeOffset: Int { 0 }
    @inlinable public static var nextHopOffset: Int { 2 }
    @inlinable public static var hopCountOffset: Int { 3 }
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
        gue = udp + UDPHeader.length
        privateData = gue + 4
        hops = privateData + 4
        self.hopSize = hopSize
    }

    @inlinable public static var ipv4: OuterOffsets { OuterOffsets(ipHeader: IPv4Header.minimumLength, hopSize: 4) }
    @inlinable public static var ipv6: OuterOffsets { OuterOffsets(ipHeader: IPv6Header.length, hopSize: 16) }

    /// Bytes in front of the inner IP packet: Ethernet, outer IP, UDP, GUE and `hops` hops.
    @inlinable public func length(hops count: Int) -> Int { hops &+ hopSize &* count }
}
