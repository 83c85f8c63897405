import GLBCore
import GLBHealthcheck
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The `gue` (and legacy `fou`) check: an ICMP echo request to the backend's own address,
/// encapsulated as a director would (see `TunnelProbePacket`), must come back as a direct
/// echo reply within the timeout. That proves the backend decapsulates what arrives on its
/// tunnel port. A "port unreachable" from the backend (nothing takes the tunnel port) fails
/// the check at once, with that reason.
///
/// Replies are read from a raw ICMP socket (ICMPv6 for an IPv6 backend; it needs
/// CAP_NET_RAW), opened before the probe is sent; each check has its own socket and
/// recognises its reply by identifier, sequence and a random token.
enum TunnelProbe {
    static func check(_ target: CheckTarget, timeout: Duration, group: any EventLoopGroup) async throws {
        // (The source table refuses this; a probe is never built for it.)
        guard target.kind == .gue || target.address.family == .ipv4 else {
            throw ProbeFailure("fou carries IPv4 only: cannot check the IPv6 backend \(target.address)")
        }
        let sender = try UDPSender(connectingTo: target.address, port: target.port)
        var random = SystemRandomNumberGenerator()
        let token = Array("glb-healthcheck \(String(random.next() as UInt64, radix: 16))".utf8)
        let packet = TunnelProbePacket(
            kind: target.kind, source: sender.localAddress, backend: target.address,
            sourcePort: sender.localPort, tunnelPort: target.port,
            identifier: UInt16.random(in: .min ... .max, using: &random),
            sequence: UInt16.random(in: .min ... .max, using: &random), token: token)

        let v6 = target.address.family == .ipv6
        let loop = group.next()
        let answer = loop.makePromise(of: Void.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
            answer.fail(ProbeFailure("no echo reply within \(timeout.humanReadable)"))
        }
        defer { timer.cancel() }

        let addHandler: @Sendable (any Channel) -> EventLoopFuture<Void> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(EchoReplyHandler(packet: packet, answer: answer))
            }
        }
        let listener: any Channel
        do {
            if v6 {
                // NIO cannot open a raw IPv6 socket itself (it sets IPV6_V6ONLY on every IPv6
                // socket, which a raw socket refuses): the socket is made here and handed over.
                listener = try await awaitChannel(
                    DatagramBootstrap(group: loop).channelInitializer(addHandler).withBoundSocket(try rawICMPv6Socket()))
            } else {
                listener = try await awaitChannel(
                    NIORawSocketBootstrap(group: loop).channelInitializer(addHandler).bind(host: "0.0.0.0", ipProtocol: .icmp))
            }
        } catch {
            answer.fail(error)
            let kind = v6 ? "ICMPv6" : "ICMP"
            throw ProbeFailure("cannot open a raw \(kind) socket for the reply (it needs CAP_NET_RAW): \(ProbeFailure.describe(error))")
        }
        defer { listener.close(promise: nil) }

        do {
            try sender.send(packet.udpPayload)
        } catch {
            // Complete the promise before the timer that would have is cancelled.
            answer.fail(error)
            throw error
        }
        try await awaitPromise(answer)
    }
}

/// A raw ICMPv6 socket: it receives every ICMPv6 message, the echo reply and errors alike.
private func rawICMPv6Socket() throws -> CInt {
    let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
    guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
    return fd
}

/// Completes the promise when the probe's echo reply, or an ICMP error about it, arrives.
final class EchoReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let packet: TunnelProbePacket
    private let answer: EventLoopPromise<Void>

    init(packet: TunnelProbePacket, answer: EventLoopPromise<Void>) {
        self.packet = packet
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        // An IPv4 raw socket hands over the IP header too; an ICMPv6 one only the message,
        // with the sender's address beside it.
        let recognised: TunnelProbePacket.Answer?
        if packet.backend.family == .ipv6 {
            recognised = Self.ipAddress(of: envelope.remoteAddress).flatMap { packet.classifyICMPv6(bytes, from: $0) }
        } else {
            recognised = packet.classify(bytes)
        }
        switch recognised {
        case .echoReply?:
            answer.succeed(())
        case .error(let reason)?:
            answer.fail(ProbeFailure(reason))
        case nil:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
    }

    static func ipAddress(of address: SocketAddress) -> IPAddress? {
        guard case .v6(let v6) = address else { return nil }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        return IPAddress(family: .ipv6, bytes: bytes)
    }
}
