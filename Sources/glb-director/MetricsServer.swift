import GLBCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `GET /metrics` (Prometheus text format) and `GET /ready` (200 when the director
/// forwards, 503 with the reasons when it does not) on `metrics_address`, on one event-loop
/// thread of its own, away from the packet loops.
final class MetricsServer {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    init(address: ListenAddress, source: MetricsSource, readiness: ReadinessState) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(MetricsHandler(source: source, readiness: readiness))
                    }
                }
                .bind(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsServerError(description: "cannot listen on metrics_address \(address): \(error)")
        }
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

struct MetricsServerError: Error, CustomStringConvertible {
    var description: String
}

private final class MetricsHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let source: MetricsSource
    private let readiness: ReadinessState
    private var path = ""

    init(source: MetricsSource, readiness: ReadinessState) {
        self.source = source
        self.readiness = readiness
    }

    private func respond(to path: String) -> (HTTPResponseStatus, String) {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        switch bare {
        case "/metrics":
            return (.ok, source.render())
        case "/ready":
            let verdict = readiness.current
            return verdict.isReady ? (.ok, "ready\n") : (.serviceUnavailable, verdict.reasons.map { "not ready: \($0)\n" }.joined())
        default:
            return (.notFound, "not found: the metrics are at /metrics, readiness at /ready\n")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : ""
        case .body:
            break
        case .end:
            let (status, body) = respond(to: path)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
