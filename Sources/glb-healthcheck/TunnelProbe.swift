import GLBCore
import GLBHealthcheck
import NIOCore
import NIOPosix

/// The `gue` (and legacy `fou`) check: an ICMP echo request to the backend's own address,
/// encapsulated as a director would (see `TunnelProbePacket`), must come back as a direct
/// echo reply within the timeout. That proves the backend decapsulates what arrives on its
/// tunnel port. A "port unreachable" from the backend (nothing takes the tunnel port) fails
/// the check at once, with that reason.
///
/// Replies are read from a raw ICMP socket (it needs CAP_NET_RAW), opened before the probe
/// is sent; each check has its own socket and recognises its reply by identifier, sequence
/// and a random token.
enum TunnelProbe {
    static func check(_ target: CheckTarget, timeout: Duration, group: any EventLoopGroup) async throws {
        let sender = try UDPSender(connectingTo: target.address, port: target.port)
        var random = SystemRandomNumberGenerator()
        let token = Array("glb-healthcheck \(String(random.next() as UInt64, radix: 16))".utf8)
        let packet = TunnelProbePacket(
            kind: target.kind, source: sender.localAddress, backend: target.address,
            sourcePort: sender.localPort, tunnelPort: target.port,
            identifier: UInt16.random(in: .min ... .max, using: &random),
            sequence: UInt16.random(in: .min ... .max, using: &random), token: token)

        let loop = group.next()
        let answer = loop.makePromise(of: Void.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
            answer.fail(ProbeFailure("no echo reply within \(timeout.humanReadable)"))
        }
        defer { timer.cancel() }

        let listener: any Channel
        do {
            listener = try await awaitChannel(
                NIORawSocketBootstrap(group: loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(EchoReplyHandler(packet: packet, answer: answer))
                        }
                    }
                    .bind(host: "0.0.0.0", ipProtocol: .icmp))
        } catch {
            answer.fail(error)
            throw ProbeFailure("cannot open a raw ICMP socket for the reply (it needs CAP_NET_RAW): \(ProbeFailure.describe(error))")
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
        let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
        switch packet.classify(bytes) {
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
}
