import GLBCore
import NIOHTTP1

/// What `HTTPEndpoint` answers, apart from the socket: a route's reply, the index at `/`, 404
/// for other paths and 405 for other methods, the same for every daemon. HEAD gets GET's
/// answer; the endpoint leaves out its body.
struct HTTPRouter: Sendable {
    let name: String
    let routes: [HTTPRoute]

    func reply(_ method: HTTPMethod, _ path: String) -> HTTPReply {
        guard method == .GET || method == .HEAD else {
            return HTTPReply(.methodNotAllowed, "only GET and HEAD are served\n")
        }
        if let route = routes.first(where: { $0.path == path }) { return route.respond() }
        if path == "/" {
            return HTTPReply(.ok, "\(name): " + routes.map { "\($0.path) (\($0.summary))" }.joined(separator: ", ") + "\n")
        }
        return HTTPReply(.notFound, "not found: try " + routes.map(\.path).joined(separator: " or ") + "\n")
    }
}
