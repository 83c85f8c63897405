import GLBCore
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One answer of an `HTTPEndpoint`.
public struct HTTPReply: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: String

    public init(_ status: HTTPResponseStatus, _ body: String, contentType: String = "text/plain; charset=utf-8") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    /// Prometheus' text exposition format.
    public static func metrics(_ body: String) -> HTTPReply {
        HTTPReply(.ok, body, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}

/// One path a daemon serves, with the words its index (`/`) and its 404 give for it.
public struct HTTPRoute: Sendable {
    public var path: String
    /// What the path serves, for people: "Prometheus", "JSON".
    public var summary: String
    public var respond: @Sendable () -> HTTPReply

    public init(_ path: String, _ summary: String, respond: @escaping @Sendable () -> HTTPReply) {
        self.path = path
        self.summary = summary
        self.respond = respond
    }
}

/// The daemons' one HTTP/1.1 server for metrics and status (director, health checker,
/// announcer, balancer), on one event-loop thread of its own (away from whatever the daemon
/// does). Every daemon answers alike:
/// - GET of a route: the route's answer; HEAD: the same status and headers, no body;
/// - `/`: 200 and one line naming the daemon and its routes;
/// - any other path: 404 naming the routes;
/// - any other method: 405 with `Allow: GET, HEAD`.
/// A query (`?…`) is ignored. Every response closes its connection.
public final class HTTPEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    public let address: ListenAddress

    /// Binds at once; throws a message that names the address when it cannot.
    public convenience init(address: ListenAddress, name: String, routes: [HTTPRoute]) throws {
        let router = HTTPRouter(name: name, routes: routes)
        try self.init(address: address, respond: router.reply)
    }

    private init(address: ListenAddress, respond: @escaping @Sendable (HTTPMethod, String) -> HTTPReply) throws {
        self.address = address
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(EndpointHandler(respond: respond))
                    }
                }
                .bind(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw HTTPEndpointError(description: "cannot listen on \(address): \(Self.reason(error))")
        }
    }

    /// The system's words for a socket error ("Address already in use"), not NIO's
    /// description, which names the Swift function that failed.
    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        return "\(error)"
    }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

public struct HTTPEndpointError: Error, CustomStringConvertible {
    public var description: String
}

private final class EndpointHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: @Sendable (HTTPMethod, String) -> HTTPReply
    private var head: HTTPRequestHead?

    init(respond: @escaping @Sendable (HTTPMethod, String) -> HTTPReply) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body:
            break
        case .end:
            guard let head else { return }
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
            let reply = respond(head.method, path)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: reply.contentType)
            headers.add(name: "Content-Length", value: "\(reply.body.utf8.count)")
            headers.add(name: "Connection", value: "close")
            if reply.status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: reply.body)))), promise: nil)
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            self.head = nil
        }
    }
}
