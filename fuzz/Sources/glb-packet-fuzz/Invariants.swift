import GLBCore
import GLBPacket

/// What must hold after every call of the packet path, whatever the frame.
enum Invariants {
    static let headroomPattern: UInt8 = 0xA5

    /// Counters that classify a frame's sub-kind of forwarding; every other counter is an outcome.
    static let subKinds: [Counter] = [.forwardedICMPError, .forwardedEcho, .forwardedFragment]
    static let exceptions: [Counter] = [.notMatched, .notIP]

    struct Snapshot {
        var named: [UInt64]
        var tables: [UInt64]

        init(_ counters: WorkerCounters, tables: Int) {
            named = Counter.allCases.map { counters[$0] }
            self.tables = (0..<tables).map { counters.forwarded(table: $0) }
        }

        subscript(_ c: Counter) -> UInt64 { named[c.rawValue] }
    }

    static func fail(_ message: String) -> Never {
        fatalError("glb-packet-fuzz: invariant violated: \(message)")
    }

    static func check(result: PacketResult, buffer: UnsafeMutableRawPointer, headroom: Int, length: Int,
                      original: UnsafeRawBufferPointer, config: DirectorConfig, tableCount: Int,
                      before: Snapshot, after: Snapshot) {
        // Exactly one outcome counter moved, by one, and it agrees with the action.
        let moved = Counter.allCases.filter { after[$0] != before[$0] }
        let outcomes = moved.filter { !subKinds.contains($0) }
        guard outcomes.count == 1, let outcome = outcomes.first, after[outcome] == before[outcome] + 1 else {
            fail("counters moved: \(moved.map(\.name)) for action \(result.action)")
        }
        guard moved.filter({ subKinds.contains($0) }).allSatisfy({ after[$0] == before[$0] + 1 }),
              moved.count <= 2 else { fail("sub-kind counters moved: \(moved.map(\.name))") }
        let tableMoves = zip(before.tables, after.tables).map { $1 &- $0 }
        switch result.action {
        case .forward:
            guard outcome == .forwarded else { fail("forwarded, but counted as \(outcome.name)") }
            guard tableMoves.reduce(0, +) == 1 else { fail("forwarded, but table counters moved by \(tableMoves)") }
        case .exception:
            guard exceptions.contains(outcome) else { fail("exception, but counted as \(outcome.name)") }
            guard tableMoves.allSatisfy({ $0 == 0 }), moved.count == 1 else { fail("exception with forwarding counters moved") }
        case .reply:
            guard outcome == .tooBigAnswered else { fail("answered, but counted as \(outcome.name)") }
            guard tableMoves.allSatisfy({ $0 == 0 }), moved.count == 1 else { fail("answer with forwarding counters moved") }
        case .drop:
            guard outcome != .forwarded, outcome != .tooBigAnswered, !exceptions.contains(outcome) else { fail("dropped, but counted as \(outcome.name)") }
            guard tableMoves.allSatisfy({ $0 == 0 }), moved.count == 1 else { fail("drop with forwarding counters moved") }
        }

        let frame = UnsafeRawPointer(buffer + headroom)
        let tagged = length >= 14 && original[12] == 0x81 && original[13] == 0x00
        let l3 = tagged ? 18 : 14
        // Frames the rules of docs/design.md §6 decide before looking at IP at all.
        if length < 14 || (tagged && length < 18) {
            guard result.action == .drop, outcome == .malformedEthernet else { fail("short frame not dropped as malformed_ethernet") }
        } else {
            let unicast = original[0] & 1 == 0
            let ours = (0..<6).allSatisfy { original[$0] == Planes.portMAC[$0] }
            if config.dropForeignDestinationMAC && unicast && !ours {
                guard outcome == .foreignDestinationMAC else { fail("frame for another MAC counted as \(outcome.name)") }
            } else {
                let type = Int(original[l3 - 2]) << 8 | Int(original[l3 - 1])
                if type != 0x0800 && type != 0x86DD {
                    guard result.action == .exception, outcome == .notIP else { fail("ethertype \(type) not sent to the exception path as not_ip") }
                }
            }
        }

        if result.action == .reply {
            TooBigInvariants.check(result: result, buffer: buffer, headroom: headroom, length: length, original: original, l3: l3)
            return
        }
        guard result.action == .forward else {
            // Nothing at all was written: headroom and frame are as they were.
            guard result.offset == 0 else { fail("offset \(result.offset) for \(result.action)") }
            if result.action == .exception, result.length != length { fail("exception with length \(result.length) for a \(length)-byte frame") }
            for i in 0..<headroom where buffer.loadUnaligned(fromByteOffset: i, as: UInt8.self) != headroomPattern {
                fail("headroom byte \(i) written for \(result.action)")
            }
            for i in 0..<length where frame.loadUnaligned(fromByteOffset: i, as: UInt8.self) != original[i] {
                fail("frame byte \(i) changed for \(result.action)")
            }
            return
        }
        checkForwarded(result: result, buffer: buffer, headroom: headroom, length: length, original: original, l3: l3, config: config)
    }

    static func checkForwarded(result: PacketResult, buffer: UnsafeMutableRawPointer, headroom: Int, length: Int,
                               original: UnsafeRawBufferPointer, l3: Int, config: DirectorConfig) {
        // The result lies inside the buffer: [start, start + length) ⊆ [buffer, buffer + headroom + length).
        let start = headroom + result.offset
        guard start >= 0, result.length >= 54, start + result.length <= headroom + length else {
            fail("forwarded range offset \(result.offset) length \(result.length) outside headroom \(headroom) + frame \(length)")
        }
        let o = UnsafeRawPointer(buffer + start)
        func u8(_ i: Int) -> Int { Int(o.loadUnaligned(fromByteOffset: i, as: UInt8.self)) }
        func be16(_ i: Int) -> Int { u8(i) << 8 | u8(i + 1) }
        func bytes(_ range: Range<Int>) -> [UInt8] { range.map { UInt8(u8($0)) } }

        // Ethernet.
        guard bytes(0..<6) == Planes.gatewayMAC, bytes(6..<12) == Planes.portMAC, be16(12) == 0x0800 || be16(12) == 0x86DD else {
            fail("outer Ethernet header \(bytes(0..<14))")
        }
        if be16(12) == 0x86DD {
            UnderlayInvariants.checkIPv6(result: result, buffer: buffer, headroom: headroom, length: length, original: original,
                                         l3: l3, config: config)
            return
        }
        // IPv4: length, constant fields, valid checksum.
        let total = be16(16)
        guard result.length == total + 14 else { fail("frame length \(result.length) but outer IPv4 total length \(total)") }
        guard u8(14) == 0x45, u8(15) == 0, be16(18) == 0, be16(20) == 0x4000, u8(22) == 64, u8(23) == 17,
              bytes(26..<30) == Planes.sourceIP, bytes(30..<34) != [0, 0, 0, 0] else {
            fail("outer IPv4 header \(bytes(14..<34))")
        }
        guard InternetChecksum.of(bytes(14..<34)) == 0 else { fail("outer IPv4 header checksum does not verify: \(bytes(14..<34))") }
        // UDP.
        let udpLength = be16(38)
        guard be16(34) & 0x8000 != 0, be16(36) == 19523, udpLength == total - 20 else { fail("outer UDP header \(bytes(34..<42))") }
        if let mtu = config.tunnelMTU, total > mtu { fail("outer IPv4 packet of \(total) bytes exceeds tunnel_mtu \(mtu)") }
        if config.udpChecksum {
            let pseudo = bytes(26..<34) + [0, 17, UInt8(udpLength >> 8), UInt8(udpLength & 0xff)]
            guard InternetChecksum.of(pseudo + bytes(34..<34 + udpLength)) == 0, be16(40) != 0 else {
                fail("UDP checksum \(be16(40)) does not verify")
            }
        } else {
            guard be16(40) == 0 else { fail("UDP checksum \(be16(40)) written although off") }
        }
        // GUE and GLB's private data.
        let hops = u8(49)
        guard hops == (config.altHashFields == nil ? 1 : 3), u8(42) == 1 + hops, u8(43) == 4 || u8(43) == 41,
              be16(44) == 0, be16(46) == 0, u8(48) == 0 else { fail("GUE header \(bytes(42..<50))") }
        for h in 0..<hops where bytes(50 + 4 * h..<54 + 4 * h) == [0, 0, 0, 0] { fail("hop \(h) is 0.0.0.0") }
        // The inner packet: the original IP packet, unchanged, as long as its own length says.
        let innerStart = 50 + 4 * hops
        let innerLength = result.length - innerStart
        guard innerLength > 0, l3 + innerLength <= length else { fail("inner length \(innerLength) in a \(length)-byte frame") }
        for i in 0..<innerLength where UInt8(u8(innerStart + i)) != original[l3 + i] {
            fail("inner byte \(i) differs from the received packet")
        }
        if u8(43) == 4 {
            guard u8(innerStart) >> 4 == 4, be16(innerStart + 2) == innerLength else { fail("inner IPv4 packet does not match GUE protocol 4 / its length") }
        } else {
            guard u8(innerStart) >> 4 == 6, 40 + be16(innerStart + 4) == innerLength else { fail("inner IPv6 packet does not match GUE protocol 41 / its length") }
        }
        // Nothing outside the encapsulation and the inner packet was written.
        for i in 0..<start where buffer.loadUnaligned(fromByteOffset: i, as: UInt8.self) != headroomPattern {
            fail("headroom byte \(i) written in front of the encapsulation")
        }
        let frame = UnsafeRawPointer(buffer + headroom)
        for i in (l3 + innerLength)..<length where frame.loadUnaligned(fromByteOffset: i, as: UInt8.self) != original[i] {
            fail("frame byte \(i) after the inner packet changed")
        }
    }

    /// No byte of the headroom before `before` and no byte of the frame from `from` on was written.
    static func checkUntouched(buffer: UnsafeMutableRawPointer, headroom: Int, before: Int, from: Int, length: Int,
                               original: UnsafeRawBufferPointer) {
        for i in 0..<min(before, headroom) where buffer.loadUnaligned(fromByteOffset: i, as: UInt8.self) != headroomPattern {
            fail("headroom byte \(i) written in front of the result")
        }
        let frame = UnsafeRawPointer(buffer + headroom)
        for i in from..<length where frame.loadUnaligned(fromByteOffset: i, as: UInt8.self) != original[i] {
            fail("frame byte \(i) changed")
        }
    }
}
