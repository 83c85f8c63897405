import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Tunnel probe packet over IPv6")
struct TunnelProbePacketIPv6Tests {
    static let checker = Samples.ip("fd00:1::9")
    static let backend = Samples.ip("fd00:1::11")
    static let token = Array("glb-healthcheck 1f".utf8)
    static let probe = TunnelProbePacket(
        kind: .gue, source: checker, backend: backend,
        sourcePort: 40000, tunnelPort: 19523, identifier: 0x1234, sequence: 0x0102, token: token)

    @Test("GUE header of the IPv6 underlay: hlen 1, protocol 41, private type 1, next_hop 0, hop_count 0")
    func gueHeader() {
        let payload = Self.probe.udpPayload
        #expect(Array(payload[0..<8]) == [0x01, 41, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])
        #expect(Array(payload[8...]) == Self.probe.innerPacket)
    }

    @Test("inner packet: IPv6 from the checker to the backend, ICMPv6 echo request, byte for byte")
    func inner() {
        // As scapy builds it: IPv6(src, dst, hlim=64) / ICMPv6EchoRequest(id, seq, data).
        let expected = hex("60000000001a3a40fd000001000000000000000000000009fd000001000000000000000000000011"
            + "8000053112340102676c622d6865616c7468636865636b203166")
        #expect(Self.probe.innerPacket == expected)
        // The checksum covers the RFC 8200 pseudo-header.
        let icmp = Array(Self.probe.innerPacket[40...])
        let pseudo = Self.checker.bytes + Self.backend.bytes + [0, 0, 0, UInt8(icmp.count), 0, 0, 0, 58]
        #expect(InternetChecksum.of(pseudo + icmp) == 0)
    }

    /// The backend kernel's answer, as a raw ICMPv6 socket hands it over (no IPv6 header).
    static func echoReply(identifier: UInt16 = 0x1234, sequence: UInt16 = 0x0102,
                          token: [UInt8] = TunnelProbePacketIPv6Tests.token) -> [UInt8] {
        [129, 0, 0x12, 0x34, UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8),
         UInt8(sequence & 0xff)] + token
    }

    @Test("the probe's echo reply is recognised; others' are not")
    func echo() {
        #expect(Self.probe.classifyICMPv6(Self.echoReply(), from: Self.backend) == .echoReply)
        #expect(Self.probe.classifyICMPv6(Self.echoReply(identifier: 0x9999), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(Self.echoReply(sequence: 0x0103), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(Self.echoReply(token: Array("someone else".utf8)), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(Self.echoReply(), from: Samples.ip("fd00:1::12")) == nil)
        // An echo request (type 128) with the same numbers is not an answer.
        var request = Self.echoReply()
        request[0] = 128
        #expect(Self.probe.classifyICMPv6(request, from: Self.backend) == nil)
        // An IPv6 probe's answers come from the ICMPv6 socket only.
        #expect(Self.probe.classify(Self.echoReply()) == nil)
    }

    /// An ICMPv6 error quoting the outer datagram: IPv6 header, UDP header, some payload.
    static func icmpError(type: UInt8, code: UInt8, sourcePort: UInt16 = 40000, nextHeader: UInt8 = 17,
                          quotedSource: IPAddress = TunnelProbePacketIPv6Tests.checker) -> [UInt8] {
        let udp: [UInt8] = [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff), 0x4c, 0x43, 0, 90, 0, 0]
        let ip: [UInt8] = [0x60, 0, 0, 0, 0, 90, nextHeader, 64] + quotedSource.bytes + backend.bytes
        return [type, code, 0, 0, 0, 0, 0x05, 0x00] + ip + udp + [UInt8](repeating: 0, count: 82)
    }

    @Test("an ICMPv6 error about the probe's datagram fails the check with its meaning")
    func errors() {
        let router = Samples.ip("fd00:1::1")
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 1, code: 4), from: Self.backend)
            == .error("port unreachable: nothing takes UDP port 19523 on fd00:1::11 (is glb-redirect attached there?)"))
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 1, code: 3), from: router)
            == .error("host unreachable (reported by fd00:1::1)"))
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 2, code: 0), from: router)
            == .error("packet too big: the probe does not fit the path MTU (reported by fd00:1::1)"))
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 3, code: 0), from: router)
            == .error("time exceeded in transit (reported by fd00:1::1)"))
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 1, code: 1), from: router)
            == .error("administratively prohibited (a firewall?) (reported by fd00:1::1)"))
        // Errors about other datagrams are not this probe's.
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 1, code: 4, sourcePort: 40001), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 1, code: 4, nextHeader: 6), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(
            Self.icmpError(type: 1, code: 4, quotedSource: Samples.ip("fd00:1::8")), from: Self.backend) == nil)
        // Informational messages (neighbour discovery, ...) are not answers.
        #expect(Self.probe.classifyICMPv6(Self.icmpError(type: 135, code: 0), from: Self.backend) == nil)
    }

    @Test("short, truncated or odd messages are ignored, never a crash")
    func garbage() {
        for message in [Self.echoReply(), Self.icmpError(type: 1, code: 4)] {
            for n in 0..<message.count { _ = Self.probe.classifyICMPv6(Array(message.prefix(n)), from: Self.backend) }
        }
        #expect(Self.probe.classifyICMPv6(Array(Self.icmpError(type: 1, code: 4).prefix(8 + 40 + 3)), from: Self.backend) == nil)
        #expect(Self.probe.classifyICMPv6(Self.echoReply(), from: Samples.ip("10.1.0.11")) == nil)
        // An IPv4 probe does not take ICMPv6 answers.
        #expect(TunnelProbePacketTests.probe.classifyICMPv6(Self.echoReply(), from: Self.backend) == nil)
    }
}

private func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
