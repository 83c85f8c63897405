import GLBCore

/// Builds Ethernet frames byte by byte for the packet-path tools (allocation check, benchmark).
/// Every length and checksum is computed here, not taken from the code under test.
public enum FrameBuilder {
    public static let clientMAC: [UInt8] = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x01]

    public static func be16(_ v: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    public static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// The Internet checksum of `bytes` (RFC 1071).
    public static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        InternetChecksum.of(bytes)
    }

    /// Ethernet II, with an 802.1Q tag when `vlan` is given.
    public static func ethernet(_ payload: [UInt8], type: Int, dst: [UInt8], vlan: Int? = nil) -> [UInt8] {
        var frame = dst + clientMAC
        if let vlan { frame += be16(0x8100) + be16(vlan & 0x0fff) }
        return frame + be16(type) + payload
    }

    /// An IPv4 header (options padded to 32-bit words) in front of `payload`.
    /// `fragment` is the flags/offset word (0x2000 = more fragments, low 13 bits = offset / 8).
    public static func ipv4(src: IPAddress, dst: IPAddress, proto: UInt8, _ payload: [UInt8], id: Int = 0x4242,
                            fragment: Int = 0, options: [UInt8] = [], ttl: UInt8 = 61) -> [UInt8] {
        var opts = options
        while opts.count % 4 != 0 { opts.append(0) }
        let ihl = 5 + opts.count / 4
        var header: [UInt8] = [UInt8(0x40 | ihl), 0] + be16(ihl * 4 + payload.count) + be16(id) + be16(fragment)
        header += [ttl, proto, 0, 0] + src.bytes + dst.bytes + opts
        let c = internetChecksum(header)
        header[10] = UInt8(c >> 8)
        header[11] = UInt8(c & 0xff)
        return header + payload
    }

    /// An IPv6 header in front of `payload` (which starts with the header named by `next`).
    public static func ipv6(src: IPAddress, dst: IPAddress, next: UInt8, _ payload: [UInt8], flowLabel: UInt32 = 0) -> [UInt8] {
        be32(0x6000_0000 | (flowLabel & 0xfffff)) + be16(payload.count) + [next, 61] + src.bytes + dst.bytes + payload
    }

    /// An IPv6 hop-by-hop or destination-options header of 8 bytes (PadN only).
    public static func ipv6Options(next: UInt8) -> [UInt8] {
        [next, 0, 1, 4, 0, 0, 0, 0]
    }

    /// An IPv6 fragment header; `offset` in 8-byte units.
    public static func ipv6Fragment(next: UInt8, offset: Int, more: Bool, id: UInt32) -> [UInt8] {
        [next, 0] + be16(offset << 3 | (more ? 1 : 0)) + be32(id)
    }

    /// A TCP header without options (checksum left 0: the director never reads it).
    public static func tcp(sport: Int, dport: Int, flags: UInt8 = 0x10, seq: UInt32 = 1, payload: [UInt8] = []) -> [UInt8] {
        be16(sport) + be16(dport) + be32(seq) + be32(seq &+ 1000) + [0x50, flags] + be16(501) + [0, 0, 0, 0] + payload
    }

    public static func udp(sport: Int, dport: Int, payload: [UInt8] = []) -> [UInt8] {
        be16(sport) + be16(dport) + be16(8 + payload.count) + [0, 0] + payload
    }

    /// An ICMP or ICMPv6 message: type, code, checksum 0, four bytes of `rest`, then `payload`.
    public static func icmp(type: UInt8, code: UInt8, rest: [UInt8] = [0, 0, 0, 0], _ payload: [UInt8] = []) -> [UInt8] {
        [type, code, 0, 0] + rest + payload
    }
}
