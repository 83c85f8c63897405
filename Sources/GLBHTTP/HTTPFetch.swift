import NIOCore
import NIOHTTP1
import NIOPosix

/// An `http://host:port/path` address, as the daemons' flags take it.
public struct HTTPURL: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    /// Parses `http://HOST[:PORT][/PATH]` (an IPv6 host in brackets); only plain HTTP.
    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        self.path = path.isEmpty ? "/" : String(path)
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = 80
            } else {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), !parts[0].isEmpty else { return nil }
            host = String(parts[0])
            if parts.count == 2 {
                guard let p = Int(parts[1]), (1...65535).contains(p) else { return nil }
                port = p
            } else {
                port = 80
            }
        }
        guard !host.isEmpty else { return nil }
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)\(path)"
    }
}

/// What an HTTP GET brought back.
public struct HTTPResult: Sendable {
    public var status: Int
    public var body: String
}

/// Why a GET brought nothing back.
public struct HTTPFetchError: Error, CustomStringConvertible {
    public var description: String
}

/// A GET over a fresh connection, bounded in time and size: for daemons that poll each other
/// (a director's readiness, a health checker's metrics).
public enum HTTPFetch {
    /// Bodies larger than this are cut here.
    public static let bodyLimit = 1 << 20

    public static func get(_ url: HTTPURL, timeout: Duration, group: any EventLoopGroup) async throws -> HTTPResult {
        let promise = start(url, timeout: timeout, loop: group.next())
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// The same GET for a caller on a thread of its own (not an event loop's), which waits.
    public static func getWaiting(_ url: HTTPURL, timeout: Duration, group: any EventLoopGroup) throws -> HTTPResult {
        try start(url, timeout: timeout, loop: group.next()).futureResult.wait()
    }

    private static func start(_ url: HTTPURL, timeout: Duration, loop: any EventLoop) -> EventLoopPromise<HTTPResult> {
        let promise = loop.makePromise(of: HTTPResult.self)
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(url.host, port: url.port)
        } catch {
            promise.fail(HTTPFetchError(description: "cannot resolve \(url.host): \(error)"))
            return promise
        }
        let limit = TimeAmount(timeout)
        let timer = loop.scheduleTask(in: limit) {
            promise.fail(HTTPFetchError(description: "no answer within \(timeout)"))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(url.host):\(url.port)")
        headers.add(name: "Connection", value: "close")
        let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.path, headers: headers)
        ClientBootstrap(group: loop)
            .connectTimeout(limit)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(HTTPFetchError(description: "cannot connect to \(url.host):\(url.port): \(error)"))
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    channel.write(HTTPClientRequestPart.head(request), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
                }
            }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise
    }
}

private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPResult>
    private var status: Int?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<HTTPResult>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // 1xx heads are interim.
            if head.status.code >= 200 { status = Int(head.status.code) }
        case .body(var buffer):
            let room = HTTPFetch.bodyLimit - body.count
            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) { body += bytes }
        case .end:
            if let status {
                promise.succeed(HTTPResult(status: status, body: String(decoding: body, as: UTF8.self)))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(HTTPFetchError(description: "\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(HTTPFetchError(description: "the connection closed before a whole response"))
        context.fireChannelInactive()
    }
}
