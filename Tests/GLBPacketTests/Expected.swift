import GLBCore

/// The frame the director must send, built from docs/design.md §3 field by field.
enum Expected {
    static let gateway: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    static let source = IPAddress("10.255.255.1")!

    /// The packet hash over the fields (already in the order and byte order of DESIGN §4).
    static func hash(key: SipHashKey, _ fields: [[UInt8]]) -> UInt64 {
        SipHash.hash(key: key, fields.flatMap { $0 })
    }

    static func frame(inner: [UInt8], hash: UInt64, hint: Int, route: [IPAddress], innerIsIPv6: Bool) -> [UInt8] {
        let hops = route.dropFirst()
        let udpLength = 8 + 8 + 4 * hops.count + inner.count
        var ip: [UInt8] = [0x45, 0] + Build.be16(20 + udpLength) + [0, 0, 0x40, 0, 64, 17, 0, 0] + source.bytes + route[0].bytes
        let c = Build.checksum(ip)
        ip[10] = UInt8(c >> 8); ip[11] = UInt8(c & 0xff)
        let sport = 0x8000 | Int((hash ^ UInt64(hint)) & 0x7fff)
        let udp = Build.be16(sport) + Build.be16(19523) + Build.be16(udpLength) + [0, 0]
        let gue: [UInt8] = [UInt8(1 + hops.count), innerIsIPv6 ? 41 : 4, 0, 0, 0, 0, 0, UInt8(hops.count)] + hops.flatMap(\.bytes)
        return gateway + [0x02, 0x70, 0x63, 0x61, 0x70, 0x00] + [0x08, 0x00] + ip + udp + gue + inner
    }
}
