import GLBCore

/// Builds test frames byte by byte, independently of the code under test.
enum Build {
    static let clientMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    static let directorMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x02]

    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }

    static func ethernet(_ payload: [UInt8], type: Int, dst: [UInt8] = directorMAC, vlan: Int? = nil) -> [UInt8] {
        var f = dst + clientMAC
        if let vlan { f += be16(0x8100) + be16(vlan) }
        return f + be16(type) + payload
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func ipv4(src: String, dst: String, proto: UInt8, _ payload: [UInt8], id: Int = 0x1234, fragment: Int = 0,
                     options: [UInt8] = [], totalLengthDelta: Int = 0) -> [UInt8] {
        let ihl = 5 + options.count / 4
        var h: [UInt8] = [UInt8(0x40 | ihl), 0] + be16(ihl * 4 + payload.count + totalLengthDelta) + be16(id) + be16(fragment)
        h += [64, proto, 0, 0] + IPAddress(src)!.bytes + IPAddress(dst)!.bytes + options
        let c = checksum(h)
        h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xff)
        return h + payload
    }

    static func ipv6(src: String, dst: String, next: UInt8, _ payload: [UInt8], flowLabel: UInt32 = 0) -> [UInt8] {
        let first = UInt32(6) << 28 | (flowLabel & 0xfffff)
        return be32(first) + be16(payload.count) + [next, 64] + IPAddress(src)!.bytes + IPAddress(dst)!.bytes + payload
    }

    static func tcp(sport: Int, dport: Int, flags: UInt8 = 0x02, payload: [UInt8] = []) -> [UInt8] {
        be16(sport) + be16(dport) + be32(1000) + be32(0) + [0x50, flags] + be16(65535) + [0, 0, 0, 0] + payload
    }

    static func udp(sport: Int, dport: Int, payload: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
        be16(sport) + be16(dport) + be16(8 + payload.count) + [0, 0] + payload
    }

    static func icmp(type: UInt8, code: UInt8, rest: [UInt8] = [0, 0, 0, 0], _ payload: [UInt8] = []) -> [UInt8] {
        [type, code, 0, 0] + rest + payload
    }

    /// A whole IPv4 TCP frame.
    static func tcp4(_ src: String, _ sport: Int, _ dst: String, _ dport: Int) -> [UInt8] {
        ethernet(ipv4(src: src, dst: dst, proto: 6, tcp(sport: sport, dport: dport)), type: 0x0800)
    }

    static func tcp6(_ src: String, _ sport: Int, _ dst: String, _ dport: Int) -> [UInt8] {
        ethernet(ipv6(src: src, dst: dst, next: 6, tcp(sport: sport, dport: dport)), type: 0x86DD)
    }
}
