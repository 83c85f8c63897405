import GLBCore

/// The tunnel check's packet and the recognition of its answers.
///
/// The checker sends, in a UDP datagram to the backend's tunnel port, what a director would
/// send: a GUE header with GLB's private data and no further hops (docs/design.md §3: `hlen` 1,
/// protocol 4, private type 0, `hop_count` 0) around an IPv4 ICMP echo request from the
/// checker's own address to the backend's. A backend that decapsulates takes the echo locally
/// and its kernel answers it directly, unencapsulated. (`fou` sends the same echo behind GLB's
/// legacy GRE-in-UDP header instead.)
///
/// An IPv6 backend gets what a director sends over the IPv6 underlay: protocol 41, private
/// type 1 ("IPv6 hops"), `hop_count` 0, around an ICMPv6 echo request (type 128) between the
/// two IPv6 addresses; its kernel answers with an ICMPv6 echo reply (type 129). `fou` is IPv4
/// only.
public struct TunnelProbePacket: Equatable, Sendable {
    public var kind: CheckTarget.Kind
    /// The checker's address: the inner source, where the echo reply goes.
    public var source: IPAddress
    /// The backend's address: the inner destination.
    public var backend: IPAddress
    /// The UDP ports of the outer datagram, for recognising ICMP errors about it.
    public var sourcePort: UInt16
    public var tunnelPort: UInt16
    public var identifier: UInt16
    public var sequence: UInt16
    /// Makes the echo reply unmistakably this check's.
    public var token: [UInt8]

    public init(kind: CheckTarget.Kind, source: IPAddress, backend: IPAddress, sourcePort: UInt16, tunnelPort: UInt16,
                identifier: UInt16, sequence: UInt16, token: [UInt8]) {
        precondition(kind.isTunnel, "tunnel probes are gue or fou")
        precondition(source.family == backend.family, "the checker's address is of the backend's family")
        precondition(kind == .gue || backend.family == .ipv4, "fou carries IPv4 only")
        self.kind = kind
        self.source = source
        self.backend = backend
        self.sourcePort = sourcePort
        self.tunnelPort = tunnelPort
        self.identifier = identifier
        self.sequence = sequence
        self.token = token
    }

    /// GUE: version 0, C 0, hlen 1 / protocol 4 (IPv4) / flags 0; GLB private data: type 0,
    /// next_hop 0, hop_count 0.
    static let gueHeader: [UInt8] = [0x01, Wire.protocolIPv4, 0x00, 0x00, 0x00, Wire.privateTypeIPv4Hops, 0x00, 0x00]
    /// The same for the IPv6 underlay: protocol 41 (IPv6), private type 1 (IPv6 hops).
    static let gueHeaderIPv6: [UInt8] = [0x01, Wire.protocolIPv6, 0x00, 0x00, 0x00, Wire.privateTypeIPv6Hops, 0x00, 0x00]
    /// GRE with the key bit set, protocol 0x0800 (IPv4), key 0: GLB's legacy FOU check.
    static let fouHeader: [UInt8] = [0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]

    /// The numbers of the probe's headers.
    enum Wire {
        static let protocolICMP: UInt8 = 1
        static let protocolIPv4: UInt8 = 4
        static let protocolUDP: UInt8 = 17
        static let protocolIPv6: UInt8 = 41
        static let protocolICMPv6: UInt8 = 58
        static let privateTypeIPv4Hops: UInt8 = 0
        static let privateTypeIPv6Hops: UInt8 = 1
        static let icmpEchoRequest: UInt8 = 8
        static let icmpEchoReply: UInt8 = 0
        static let icmpv6EchoRequest: UInt8 = 128
        static let icmpv6EchoReply: UInt8 = 129
        static let hopLimit: UInt8 = 64
        static let ipv6HeaderLength = 40
        static let icmpHeaderLength = 8
    }

    /// The UDP payload to send to the backend's tunnel port.
    public var udpPayload: [UInt8] {
        switch (kind, backend.family) {
        case (.gue, .ipv6): return Self.gueHeaderIPv6 + innerPacket
        case (.gue, _): return Self.gueHeader + innerPacket
        default: return Self.fouHeader + innerPacket
        }
    }

    /// The inner packet: an ICMP echo request (IPv4) or ICMPv6 echo request (IPv6) from
    /// `source` to `backend`.
    public var innerPacket: [UInt8] {
        backend.family == .ipv6 ? innerIPv6Packet : innerIPv4Packet
    }

    private var innerIPv4Packet: [UInt8] {
        var icmp: [UInt8] = [Wire.icmpEchoRequest, 0, 0, 0]
        icmp += be16(identifier) + be16(sequence) + token
        let icmpSum = InternetChecksum.of(icmp)
        icmp[2] = UInt8(icmpSum >> 8)
        icmp[3] = UInt8(icmpSum & 0xff)

        var ip: [UInt8] = [0x45, 0x00]
        ip += be16(UInt16(20 + icmp.count))
        ip += be16(identifier)  // IPv4 identification: the director's flow hint for an echo
        ip += [0x40, 0x00, 64, 1, 0, 0]  // DF, TTL 64, ICMP, checksum below
        ip += source.bytes + backend.bytes
        let ipSum = InternetChecksum.of(ip)
        ip[10] = UInt8(ipSum >> 8)
        ip[11] = UInt8(ipSum & 0xff)
        return ip + icmp
    }

    private var innerIPv6Packet: [UInt8] {
        var icmp: [UInt8] = [Wire.icmpv6EchoRequest, 0, 0, 0]
        icmp += be16(identifier) + be16(sequence) + token
        // RFC 8200 pseudo-header: source, destination, upper-layer length (32 bits), next header.
        let pseudo = source.bytes + backend.bytes + be32(UInt32(icmp.count)) + [0, 0, 0, Wire.protocolICMPv6]
        let icmpSum = InternetChecksum.of(pseudo + icmp)
        icmp[2] = UInt8(icmpSum >> 8)
        icmp[3] = UInt8(icmpSum & 0xff)

        var ip: [UInt8] = [0x60, 0x00, 0x00, 0x00]  // version 6, traffic class 0, flow label 0
        ip += be16(UInt16(icmp.count))
        ip += [Wire.protocolICMPv6, Wire.hopLimit]
        ip += source.bytes + backend.bytes
        return ip + icmp
    }

    /// What a received IPv4 packet (as a raw ICMP socket delivers it, IP header included)
    /// says about this probe: nil when it is not about this probe at all.
    public func classify(_ packet: [UInt8]) -> Answer? {
        guard backend.family == .ipv4, let outer = IPv4View(packet), outer.protocolNumber == Wire.protocolICMP,
              outer.payload.count >= 8 else { return nil }
        let icmp = outer.payload
        let type = icmp[icmp.startIndex], code = icmp[icmp.startIndex + 1]
        switch type {
        case 0:  // echo reply
            guard outer.source == backend.bytes, outer.destination == source.bytes,
                  u16(icmp, 4) == identifier, u16(icmp, 6) == sequence,
                  Array(icmp.dropFirst(8)) == token else { return nil }
            return .echoReply
        case 3, 11, 12:  // destination unreachable, time exceeded, parameter problem
            guard let quoted = IPv4View(Array(icmp.dropFirst(8)), allowTruncated: true), quoted.protocolNumber == 17,
                  quoted.source == source.bytes, quoted.destination == backend.bytes, quoted.payload.count >= 4,
                  u16(quoted.payload, 0) == sourcePort, u16(quoted.payload, 2) == tunnelPort else { return nil }
            let reporter = IPAddress(family: .ipv4, bytes: outer.source).map { "\($0)" } ?? "?"
            return .error(describeError(type: type, code: code, reporter: reporter))
        default:
            return nil
        }
    }

    /// What a received ICMPv6 message says about this probe, as a raw ICMPv6 socket delivers
    /// it: without the IPv6 header, with the sender's address beside it. nil when it is not
    /// about this probe at all.
    public func classifyICMPv6(_ message: [UInt8], from sender: IPAddress) -> Answer? {
        guard backend.family == .ipv6, sender.family == .ipv6, message.count >= Wire.icmpHeaderLength else { return nil }
        let type = message[0], code = message[1]
        switch type {
        case Wire.icmpv6EchoReply:
            guard sender == backend, u16(message[...], 4) == identifier, u16(message[...], 6) == sequence,
                  Array(message.dropFirst(Wire.icmpHeaderLength)) == token else { return nil }
            return .echoReply
        case 1, 2, 3, 4:  // destination unreachable, packet too big, time exceeded, parameter problem
            // The quoted packet: the outer IPv6 header and at least the UDP ports (the checker
            // sends no extension headers).
            let quoted = message.dropFirst(Wire.icmpHeaderLength)
            let h = quoted.startIndex
            guard quoted.count >= Wire.ipv6HeaderLength + 4, quoted[h] >> 4 == 6,
                  quoted[h + 6] == Wire.protocolUDP,
                  Array(quoted[(h + 8)..<(h + 24)]) == source.bytes,
                  Array(quoted[(h + 24)..<(h + 40)]) == backend.bytes,
                  u16(quoted, Wire.ipv6HeaderLength) == sourcePort,
                  u16(quoted, Wire.ipv6HeaderLength + 2) == tunnelPort else { return nil }
            return .error(describeICMPv6Error(type: type, code: code, reporter: "\(sender)"))
        default:
            return nil
        }
    }

    /// An answer to the probe.
    public enum Answer: Equatable, Sendable {
        /// The backend answered the inner echo: it decapsulated the packet.
        case echoReply
        /// An ICMP error about the outer datagram, described.
        case error(String)
    }

    func describeError(type: UInt8, code: UInt8, reporter: String) -> String {
        let by = reporter == "\(backend)" ? "" : " (reported by \(reporter))"
        switch (type, code) {
        case (3, 3):
            let hint = kind == .gue ? " (is glb-redirect attached there?)" : ""
            return "port unreachable: nothing takes UDP port \(tunnelPort) on \(backend)\(hint)\(by)"
        case (3, 0): return "network unreachable\(by)"
        case (3, 1): return "host unreachable\(by)"
        case (3, 4): return "fragmentation needed: the probe does not fit the path MTU\(by)"
        case (3, 9), (3, 10), (3, 13): return "administratively prohibited (a firewall?)\(by)"
        case (3, _): return "destination unreachable, code \(code)\(by)"
        case (11, _): return "time exceeded in transit\(by)"
        default: return "ICMP parameter problem, code \(code)\(by)"
        }
    }

    /// The same for ICMPv6 (RFC 4443), in the same words where the meaning is the same.
    func describeICMPv6Error(type: UInt8, code: UInt8, reporter: String) -> String {
        let by = reporter == "\(backend)" ? "" : " (reported by \(reporter))"
        switch (type, code) {
        case (1, 4): return "port unreachable: nothing takes UDP port \(tunnelPort) on \(backend) (is glb-redirect attached there?)\(by)"
        case (1, 0): return "no route to \(backend)\(by)"
        case (1, 3): return "host unreachable\(by)"
        case (1, 1), (1, 5), (1, 6): return "administratively prohibited (a firewall?)\(by)"
        case (1, _): return "destination unreachable, code \(code)\(by)"
        case (2, _): return "packet too big: the probe does not fit the path MTU\(by)"
        case (3, _): return "time exceeded in transit\(by)"
        default: return "ICMPv6 parameter problem, code \(code)\(by)"
        }
    }
}

/// A bounds-checked look at an IPv4 header and what follows it.
struct IPv4View {
    var protocolNumber: UInt8
    var source: [UInt8]
    var destination: [UInt8]
    var payload: ArraySlice<UInt8>

    /// - Parameter allowTruncated: accept a packet shorter than its total length (as quoted
    ///   inside ICMP errors).
    init?(_ bytes: [UInt8], allowTruncated: Bool = false) {
        guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
        let headerLength = Int(bytes[0] & 0x0f) * 4
        guard headerLength >= 20, bytes.count >= headerLength else { return nil }
        let total = Int(bytes[2]) << 8 | Int(bytes[3])
        guard total >= headerLength else { return nil }
        let end = allowTruncated ? min(total, bytes.count) : total
        guard end <= bytes.count else { return nil }
        protocolNumber = bytes[9]
        source = Array(bytes[12..<16])
        destination = Array(bytes[16..<20])
        payload = bytes[headerLength..<end]
    }
}

private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

private func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xffff)) }

private func u16(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt16 {
    let i = bytes.startIndex + offset
    return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
}
