import GLBCore
import GLBHTTP
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Serialized: the refused-fetch test frees a port that a test running beside it could take.
@Suite("HTTP endpoint and fetch", .serialized)
struct HTTPEndpointTests {
    /// Labels that need escaping: a quote, a backslash, a line feed.
    static let awkwardLabel = "we\"b\\x\ny"

    /// An endpoint on a free loopback port: "/x" answers its path, "/metrics" one sample.
    static func endpoint() throws -> HTTPEndpoint {
        let routes = [
            HTTPRoute("/x", "a test") { HTTPReply(.ok, "seen /x\n") },
            HTTPRoute("/metrics", "Prometheus") {
                var out = PrometheusText()
                out.family("t_up", .gauge, "Whether \\ it is up.\nSecond line.")
                out.sample("t_up", [("table", awkwardLabel)], 1)
                return .metrics(out.text)
            },
        ]
        for port in 39_000..<39_100 {
            if let e = try? HTTPEndpoint(address: ListenAddress("127.0.0.1:\(port)")!, name: "glb-test", routes: routes) {
                return e
            }
        }
        Issue.record("no free port in 39000-39099")
        throw CancellationError()
    }

    /// Sends `request` as it is and returns everything the endpoint writes before it closes.
    static func raw(_ request: String, to e: HTTPEndpoint) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = in_port_t(UInt16(e.address.port).bigEndian)
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        FileIO.writeAll(fd: fd, Array(request.utf8))
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            reply += buffer[0..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    @Test("GET answers the path without its query; unknown paths get 404 naming the routes; / the index")
    func get() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let base = "http://\(e.address.host):\(e.address.port)"
        let ok = try HTTPFetch.getWaiting(HTTPURL(base + "/x?a=1")!, timeout: .seconds(5), group: group)
        #expect(ok.status == 200 && ok.body == "seen /x\n")
        let missing = try HTTPFetch.getWaiting(HTTPURL(base + "/y")!, timeout: .seconds(5), group: group)
        #expect(missing.status == 404 && missing.body == "not found: try /x or /metrics\n")
        let index = try HTTPFetch.getWaiting(HTTPURL(base + "/")!, timeout: .seconds(5), group: group)
        #expect(index.status == 200 && index.body == "glb-test: /x (a test), /metrics (Prometheus)\n")
    }

    @Test("HEAD gets GET's status and headers without a body, for routes, the index and unknown paths")
    func head() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        for (path, status, length) in [("/x", "200 OK", 8), ("/", "200 OK", 45), ("/y", "404 Not Found", 30)] {
            let get = Self.raw("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n", to: e)
            let head = Self.raw("HEAD \(path) HTTP/1.1\r\nHost: t\r\n\r\n", to: e)
            #expect(get.hasPrefix("HTTP/1.1 \(status)\r\n"), "\(get)")
            #expect(head.hasPrefix("HTTP/1.1 \(status)\r\n"), "\(head)")
            #expect(head.lowercased().contains("content-length: \(length)\r\n"), "\(head)")
            // The same head; GET's body follows it, HEAD's does not.
            #expect(head.hasSuffix("\r\n\r\n"), "\(head)")
            #expect(get.hasPrefix(head) && get.utf8.count == head.utf8.count + length, "\(get)")
        }
    }

    @Test("other methods get 405 with Allow, on any path")
    func otherMethods() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        for request in ["POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "DELETE /y HTTP/1.1\r\nHost: t\r\n\r\n"] {
            let reply = Self.raw(request, to: e)
            #expect(reply.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), "\(reply)")
            #expect(reply.lowercased().contains("allow: get, head\r\n"), "\(reply)")
        }
    }

    @Test("metrics are served with Prometheus' content type, label values and help escaped")
    func metrics() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        let reply = Self.raw("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n", to: e)
        #expect(reply.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"), "\(reply)")
        #expect(reply.hasSuffix("""
            # HELP t_up Whether \\\\ it is up.\\nSecond line.
            # TYPE t_up gauge
            t_up{table="we\\"b\\\\x\\ny"} 1

            """), "\(reply)")
    }

    @Test("a port in use is an error that names the address and the system's reason")
    func busy() throws {
        let e = try Self.endpoint()
        defer { e.stop() }
        do {
            let second = try HTTPEndpoint(address: e.address, name: "second", routes: [])
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
