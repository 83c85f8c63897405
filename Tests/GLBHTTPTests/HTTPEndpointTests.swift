import GLBCore
import GLBHTTP
import NIOPosix
import Testing

// Serialized: the refused-fetch test frees a port that a test running beside it could take.
@Suite("HTTP endpoint and fetch", .serialized)
struct HTTPEndpointTests {
    /// An endpoint on a free loopback port: "/x" answers its query-less path.
    static func endpoint() throws -> HTTPEndpoint {
        for port in 39_000..<39_100 {
            if let e = try? HTTPEndpoint(address: ListenAddress("127.0.0.1:\(port)")!, respond: { path in
                path == "/x" ? HTTPReply(.ok, "seen \(path)\n") : HTTPReply(.notFound, "no\n")
            }) {
                return e
            }
        }
        Issue.record("no free port in 39000-39099")
        throw CancellationError()
    }

    @Test("GET answers the path without its query; unknown paths are the responder's 404")
    func get() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let base = "http://\(e.address.host):\(e.address.port)"
        let ok = try HTTPFetch.getWaiting(HTTPURL(base + "/x?a=1")!, timeout: .seconds(5), group: group)
        #expect(ok.status == 200 && ok.body == "seen /x\n")
        let missing = try HTTPFetch.getWaiting(HTTPURL(base + "/y")!, timeout: .seconds(5), group: group)
        #expect(missing.status == 404)
    }

    @Test("a port in use is an error that names the address and the system's reason")
    func busy() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        do {
            let second = try HTTPEndpoint(address: e.address) { _ in HTTPReply(.ok, "") }
            second.stop()
            Issue.record("bound a port in use")
        } catch {
            // Not NIO's "bind(descriptor:ptr:bytes:): …", which names a Swift function.
            #expect("\(error)" == "cannot listen on \(e.address): Address already in use")
        }
    }

    @Test("a fetch from a port nobody listens on fails with a reason")
    func refused() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let e = try Self.endpoint()
        let address = e.address
        e.stop()
        #expect(throws: HTTPFetchError.self) {
            try HTTPFetch.getWaiting(HTTPURL("http://127.0.0.1:\(address.port)/x")!, timeout: .seconds(5), group: group)
        }
    }
}
