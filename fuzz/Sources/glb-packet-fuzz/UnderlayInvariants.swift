import GLBCore
import GLBPacket

/// Reads bytes of the result frame for the checks below.
struct ResultFrame {
    let o: UnsafeRawPointer
    let length: Int

    func u8(_ i: Int) -> Int { Int(o.loadUnaligned(fromByteOffset: i, as: UInt8.self)) }
    func be16(_ i: Int) -> Int { u8(i) << 8 | u8(i + 1) }
    func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
    func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8(u8($0)) } }
}

/// What must hold of a packet forwarded over the IPv6 underlay (docs/design.md §3).
enum UnderlayInvariants {
    static func checkIPv6(result: PacketResult, buffer: UnsafeMutableRawPointer, headroom: Int, length: Int,
                          original: UnsafeRawBufferPointer, l3: Int, config: DirectorConfig) {
        let start = headroom + result.offset
        let f = ResultFrame(o: UnsafeRawPointer(buffer + start), length: result.length)
        let fail = Invariants.fail
        // IPv6: version 6, traffic class 0, payload length, UDP, hop limit 64, our source.
        let payload = f.be16(18)
        guard f.u8(14) == 0x60, f.u8(15) >> 4 == 0, result.length == 54 + payload, f.u8(20) == 17, f.u8(21) == 64,
              f.bytes(22..<38) == Planes.sourceIPv6.bytes, f.bytes(38..<54) != [UInt8](repeating: 0, count: 16) else {
            fail("outer IPv6 header \(f.bytes(14..<54))")
        }
        if let mtu = config.tunnelMTU, 40 + payload > mtu { fail("outer IPv6 packet of \(40 + payload) bytes exceeds tunnel_mtu \(mtu)") }
        // UDP: the checksum is mandatory and must verify over the pseudo-header.
        guard f.be16(54) & 0x8000 != 0, f.be16(56) == 19523, f.be16(58) == payload, f.be16(60) != 0 else {
            fail("outer UDP header \(f.bytes(54..<62))")
        }
        let pseudo = f.bytes(22..<54) + [0, 0, UInt8(payload >> 8), UInt8(payload & 0xff), 0, 0, 0, 17]
        guard InternetChecksum.of(pseudo + f.bytes(54..<54 + payload)) == 0 else { fail("IPv6 UDP checksum does not verify") }
        // GUE with GLB private type 1 and 16-byte hops.
        let hops = f.u8(69)
        guard hops == (config.altHashFields == nil ? 1 : 3), f.u8(62) == 1 + 4 * hops, f.u8(63) == 4 || f.u8(63) == 41,
              f.be16(64) == 0, f.be16(66) == 1, f.u8(68) == 0 else { fail("GUE header \(f.bytes(62..<70))") }
        for h in 0..<hops where f.bytes(70 + 16 * h..<86 + 16 * h) == [UInt8](repeating: 0, count: 16) { fail("IPv6 hop \(h) is ::") }
        let innerStart = 70 + 16 * hops
        let innerLength = result.length - innerStart
        guard innerLength > 0, l3 + innerLength <= length else { fail("inner length \(innerLength) in a \(length)-byte frame") }
        for i in 0..<innerLength where UInt8(f.u8(innerStart + i)) != original[l3 + i] { fail("inner byte \(i) differs from the received packet") }
        guard (f.u8(innerStart) >> 4 == 4) == (f.u8(63) == 4) else { fail("inner packet does not match GUE protocol \(f.u8(63))") }
        Invariants.checkUntouched(buffer: buffer, headroom: headroom, before: start, from: l3 + innerLength, length: length, original: original)
    }
}

/// What must hold of an ICMP "too big" answer (docs/glb-director.md, "Path MTU").
enum TooBigInvariants {
    static func check(result: PacketResult, buffer: UnsafeMutableRawPointer, headroom: Int, length: Int,
                      original: UnsafeRawBufferPointer, l3: Int) {
        let fail = Invariants.fail
        let start = headroom + result.offset
        guard start >= 0, start + result.length <= headroom + length else {
            fail("answer range offset \(result.offset) length \(result.length) outside headroom \(headroom) + frame \(length)")
        }
        let f = ResultFrame(o: UnsafeRawPointer(buffer + start), length: result.length)
        // Back to the frame's sender, from the port.
        guard f.bytes(0..<6) == Array(original[6..<12]), f.bytes(6..<12) == Planes.portMAC else { fail("answer Ethernet header \(f.bytes(0..<14))") }
        let inner = Array(original[l3...])
        let quoteStart: Int
        if f.be16(12) == 0x0800 {
            quoteStart = 42
            let total = f.be16(16)
            guard f.u8(14) == 0x45, total == result.length - 14, f.u8(23) == 1, InternetChecksum.of(f.bytes(14..<34)) == 0,
                  f.bytes(26..<30) == Array(inner[16..<20]), f.bytes(30..<34) == Array(inner[12..<16]) else {
                fail("answer IPv4 header \(f.bytes(14..<34))")
            }
            guard f.u8(34) == 3, f.u8(35) == 4, InternetChecksum.of(f.bytes(34..<result.length)) == 0 else { fail("ICMP header \(f.bytes(34..<42))") }
            // The sender asked not to fragment, and its packet does not fit the MTU announced.
            let mtu = f.be16(40), innerTotal = Int(inner[2]) << 8 | Int(inner[3])
            guard inner[6] & 0x40 != 0, [40, 48, 72, 104].contains(Planes.tunnelMTU - mtu), innerTotal > mtu else {
                fail("answered an IPv4 packet of \(innerTotal) bytes (DF \(inner[6] & 0x40 != 0)) with MTU \(mtu)")
            }
            guard result.length - quoteStart == min(Int(inner[0] & 0x0f) * 4 + 8, innerTotal) else { fail("IPv4 quote of \(result.length - quoteStart) bytes") }
        } else {
            quoteStart = 62
            let payload = f.be16(18)
            guard f.u8(14) == 0x60, payload == result.length - 54, f.u8(20) == 58,
                  f.bytes(22..<38) == Array(inner[24..<40]), f.bytes(38..<54) == Array(inner[8..<24]) else {
                fail("answer IPv6 header \(f.bytes(14..<54))")
            }
            let pseudo = f.bytes(22..<54) + [0, 0, UInt8(payload >> 8), UInt8(payload & 0xff), 0, 0, 0, 58]
            guard f.be16(12) == 0x86DD, f.u8(54) == 2, f.u8(55) == 0, InternetChecksum.of(pseudo + f.bytes(54..<result.length)) == 0 else {
                fail("ICMPv6 header \(f.bytes(54..<62))")
            }
            let innerTotal = 40 + (Int(inner[4]) << 8 | Int(inner[5]))
            // tunnel_mtu 1280 less any overhead is below IPv6's minimum, which is announced instead;
            // the packet did not fit with its route's overhead, at most 104 bytes.
            guard f.be32(58) == 1280, innerTotal + 104 > Planes.tunnelMTU else {
                fail("answered an IPv6 packet of \(innerTotal) bytes with MTU \(f.be32(58))")
            }
            guard result.length - quoteStart == min(innerTotal, 1232) else { fail("IPv6 quote of \(result.length - quoteStart) bytes") }
        }
        // The quote is the packet itself, where it was: nothing from l3 on was written.
        Invariants.checkUntouched(buffer: buffer, headroom: headroom, before: start, from: l3, length: length, original: original)
    }
}
