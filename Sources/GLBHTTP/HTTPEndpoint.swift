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

/// A small HTTP/1.1 server for a daemon's metrics and status, on one event-loop thread of its
/// own (away from whatever the daemon does). GET and HEAD are answered by `respond`, which
/// gets the path without its query; other methods get 405. Every response closes its
/// connection.
public final class HTTPEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    public let address: ListenAddress

    /// Binds at once; throws a message that names the address when it cannot.
    public init(address: ListenAddress, respond: @escaping @Sendable (String) -> HTTPReply) throws {
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

    private let respond: @Sendable (String) -> HTTPReply
    private var head: HTTPRequestHead?

    init(respond: @escaping @Sendable (String) -> HTTPReply) {
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
            let reply: HTTPReply
            switch head.method {
            case .GET, .HEAD:
                let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
                reply = respond(path)
            default:
                reply = HTTPReply(.methodNotAllowed, "only GET and HEAD are served\n")
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: reply.contentType)
            headers.add(name: "Content-Length", value: "\(reply.body.utf8.count)")
            headers.add(name: "Connection", value: "close")
            if head.method != .GET && head.method != .HEAD { headers.add(name: "Allow", value: "GET, HEAD") }
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
