import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Tunnel probe packet")
struct TunnelProbePacketTests {
    static let probe = TunnelProbePacket(
        kind: .gue, source: Samples.ip("10.1.0.9"), backend: Samples.ip("10.1.0.11"),
        sourcePort: 40000, tunnelPort: 19523, identifier: 0x1234, sequence: 0x0102, token: Array("glb-healthcheck 1f".utf8))

    @Test("GUE header as a director writes it: hlen 1, protocol 4, GLB private data with hop_count 0")
    func gueHeader() {
        let payload = Self.probe.udpPayload
        #expect(Array(payload[0..<8]) == [0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(Array(payload[8...]) == Self.probe.innerPacket)
    }

    @Test("FOU sends the same echo behind GLB's GRE header (key bit, IPv4, key 0)")
    func fouHeader() {
        var fou = Self.probe
        fou.kind = .fou
        #expect(Array(fou.udpPayload[0..<8]) == [0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(Array(fou.udpPayload[8...]) == Self.probe.innerPacket)
    }

    @Test("inner packet: IPv4 from the checker to the backend, ICMP echo request, valid checksums")
    func inner() {
        let ip = Self.probe.innerPacket
        #expect(ip.count == 20 + 8 + 18)
        #expect(ip[0] == 0x45)
        #expect(Int(ip[2]) << 8 | Int(ip[3]) == ip.count)
        #expect(ip[8] == 64 && ip[9] == 1)
        #expect(Array(ip[12..<16]) == [10, 1, 0, 9])
        #expect(Array(ip[16..<20]) == [10, 1, 0, 11])
        #expect(InternetChecksum.of(Array(ip[0..<20])) == 0)
        let icmp = Array(ip[20...])
        #expect(icmp[0] == 8 && icmp[1] == 0)
        #expect(Array(icmp[4..<8]) == [0x12, 0x34, 0x01, 0x02])
        #expect(Array(icmp[8...]) == Array("glb-healthcheck 1f".utf8))
        #expect(InternetChecksum.of(icmp) == 0)
    }

    /// The backend kernel's answer to the inner echo.
    static func echoReply(from src: [UInt8] = [10, 1, 0, 11], to dst: [UInt8] = [10, 1, 0, 9],
                          identifier: UInt16 = 0x1234, token: [UInt8] = Array("glb-healthcheck 1f".utf8)) -> [UInt8] {
        let icmp: [UInt8] = [0, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xff), 0x01, 0x02] + token
        return ipv4(src: src, dst: dst, proto: 1, payload: icmp)
    }

    static func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, payload: [UInt8]) -> [UInt8] {
        let length = 20 + payload.count
        return [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 0, 0, 0, 64, proto, 0, 0] + src + dst + payload
    }

    @Test("the probe's echo reply is recognised; others' are not")
    func echo() {
        #expect(Self.probe.classify(Self.echoReply()) == .echoReply)
        #expect(Self.probe.classify(Self.echoReply(identifier: 0x9999)) == nil)
        #expect(Self.probe.classify(Self.echoReply(token: Array("someone else".utf8))) == nil)
        #expect(Self.probe.classify(Self.echoReply(from: [10, 1, 0, 12])) == nil)
        // Our own echo request, seen by the raw socket on its way out, is not an answer.
        #expect(Self.probe.classify(Self.probe.innerPacket) == nil)
    }

    /// An ICMP error quoting the outer datagram's IP and UDP headers.
    static func icmpError(type: UInt8, code: UInt8, from reporter: [UInt8], sourcePort: UInt16 = 40000) -> [UInt8] {
        let udp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff), 0x4c, 0x43, 0, 62, 0, 0]
        let quoted = ipv4(src: [10, 1, 0, 9], dst: [10, 1, 0, 11], proto: 17, payload: udp + [UInt8](repeating: 0, count: 54))
        return ipv4(src: reporter, dst: [10, 1, 0, 9], proto: 1, payload: [type, code, 0, 0, 0, 0, 0, 0] + quoted.prefix(28))
    }

    @Test("an ICMP error about the probe's datagram fails the check with its meaning")
    func errors() {
        #expect(Self.probe.classify(Self.icmpError(type: 3, code: 3, from: [10, 1, 0, 11]))
            == .error("port unreachable: nothing takes UDP port 19523 on 10.1.0.11 (is glb-redirect attached there?)"))
        #expect(Self.probe.classify(Self.icmpError(type: 3, code: 1, from: [10, 1, 0, 1]))
            == .error("host unreachable (reported by 10.1.0.1)"))
        #expect(Self.probe.classify(Self.icmpError(type: 11, code: 0, from: [10, 1, 0, 1]))
            == .error("time exceeded in transit (reported by 10.1.0.1)"))
        #expect(Self.probe.classify(Self.icmpError(type: 3, code: 3, from: [10, 1, 0, 11], sourcePort: 40001)) == nil)
    }

    @Test("short, truncated or odd packets are ignored, never a crash")
    func garbage() {
        let reply = Self.echoReply()
        for n in 0..<reply.count { _ = Self.probe.classify(Array(reply.prefix(n))) }
        let error = Self.icmpError(type: 3, code: 3, from: [10, 1, 0, 11])
        for n in 0..<error.count { _ = Self.probe.classify(Array(error.prefix(n))) }
        #expect(Self.probe.classify(Array(reply.prefix(27))) == nil)
        var badIHL = reply
        badIHL[0] = 0x43
        #expect(Self.probe.classify(badIHL) == nil)
        var longer = reply
        longer[3] = 0xff  // total length beyond the bytes
        #expect(Self.probe.classify(longer) == nil)
        #expect(Self.probe.classify([0x60] + [UInt8](repeating: 0, count: 60)) == nil)
    }
}
