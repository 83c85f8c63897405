import GLBCore
import GLBHealthcheck
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The `http` check: `GET http_uri` must be answered with status 200 within the timeout
/// (GLB's rule; redirects are not followed). Only the status line and headers are awaited:
/// the connection is closed as soon as they arrive.
enum HTTPProbe {
    static func check(_ target: CheckTarget, timeout: Duration, group: any EventLoopGroup) async throws {
        let address = try SocketAddress(ipAddress: "\(target.address)", port: Int(target.port))
        let loop = group.next()
        let response = loop.makePromise(of: HTTPResponseHead.self)
        let limit = TimeAmount(timeout)
        let connected = ConnectedFlag()
        let timer = loop.scheduleTask(in: limit) {
            let what = connected.value ? "no HTTP response" : "no connection"
            response.fail(ProbeFailure("\(what) within \(timeout.humanReadable)"))
        }
        defer { timer.cancel() }

        let request = requestHead(for: target)
        ClientBootstrap(group: loop)
            .connectTimeout(limit)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHeadHandler(response: response))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    response.fail(error)
                case .success(let channel):
                    connected.value = true
                    // However the check ends (answer, timeout, cancellation), the connection goes.
                    response.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    channel.write(HTTPClientRequestPart.head(request), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { response.fail($0) }
                }
            }

        let head = try await awaitPromise(response)
        guard head.status.code == 200 else {
            throw ProbeFailure("HTTP \(head.status.code) \(head.status.reasonPhrase), expected 200")
        }
    }

    static func requestHead(for target: CheckTarget) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostPort)
        headers.add(name: "User-Agent", value: "glb-healthcheck")
        headers.add(name: "Accept", value: "*/*")
        headers.add(name: "Connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: target.uri ?? "/", headers: headers)
    }
}

/// Whether the check's connection was made, for the timeout's message.
final class ConnectedFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var value: Bool {
        get { flag.load(ordering: .acquiring) }
        set { flag.store(newValue, ordering: .releasing) }
    }
}

/// Completes the promise with the response's status line and headers, or with the reason
/// there was none.
final class ResponseHeadHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let response: EventLoopPromise<HTTPResponseHead>

    init(response: EventLoopPromise<HTTPResponseHead>) {
        self.response = response
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // 1xx heads are interim: the answer is the head that follows them.
        if case .head(let head) = unwrapInboundIn(data), head.status.code >= 200 {
            response.succeed(head)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        response.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        response.fail(ProbeFailure("the connection closed before a response"))
        context.fireChannelInactive()
    }
}
