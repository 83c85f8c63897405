import GLBCore
import GLBHealthcheck
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP endpoint behind `--metrics-address`:
/// - `/metrics`: Prometheus text format (see `PrometheusExposition`);
/// - `/status`: the same view as `--once --json`.
/// Each response closes its connection.
enum MetricsServer {
    static func start(at address: ListenAddress, service: HealthcheckService, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(service: service))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }

    /// Status, content type and body for a path.
    static func respond(to path: String, service: HealthcheckService) -> (HTTPResponseStatus, String, String) {
        let route = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        switch route {
        case "/metrics":
            return (.ok, PrometheusExposition.contentType, PrometheusExposition.render(service.snapshot))
        case "/status":
            return (.ok, "application/json", service.snapshot.json.serialized())
        case "/":
            return (.ok, "text/plain; charset=utf-8", "glb-healthcheck: /metrics (Prometheus), /status (JSON)\n")
        default:
            return (.notFound, "text/plain; charset=utf-8", "not found: try /metrics or /status\n")
        }
    }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let service: HealthcheckService
    private var request: HTTPRequestHead?

    init(service: HealthcheckService) {
        self.service = service
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        var (status, type, body) = MetricsServer.respond(to: head.uri, service: service)
        if head.method != .GET && head.method != .HEAD {
            (status, type, body) = (.methodNotAllowed, "text/plain; charset=utf-8", "only GET and HEAD\n")
        }
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        headers.add(name: "Connection", value: "close")
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
