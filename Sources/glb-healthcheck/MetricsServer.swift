import GLBCore
import GLBHealthcheck
import GLBHTTP
import NIOHTTP1

/// The HTTP endpoint behind `--metrics-address`:
/// - `/metrics`: Prometheus text format (see `PrometheusExposition`);
/// - `/status`: the same view as `--once --json`.
/// Each response closes its connection.
enum MetricsServer {
    static func start(at address: ListenAddress, service: HealthcheckService) throws -> HTTPEndpoint {
        try HTTPEndpoint(address: address) { path in
            let (status, type, body) = respond(to: path, service: service)
            return HTTPReply(status, body, contentType: type)
        }
    }

    /// Status, content type and body for a path (without its query).
    static func respond(to path: String, service: HealthcheckService) -> (HTTPResponseStatus, String, String) {
        switch path {
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
