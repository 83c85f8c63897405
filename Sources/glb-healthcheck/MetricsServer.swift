import GLBCore
import GLBHealthcheck
import GLBHTTP

/// The HTTP endpoint behind `--metrics-address`:
/// - `/metrics`: Prometheus text format (see `PrometheusExposition`);
/// - `/status`: the same view as `--once --json`.
/// Each response closes its connection.
enum MetricsServer {
    static func start(at address: ListenAddress, service: HealthcheckService) throws -> HTTPEndpoint {
        try HTTPEndpoint(address: address) { path in respond(to: path, service: service) }
    }

    /// The answer for a path (without its query).
    static func respond(to path: String, service: HealthcheckService) -> HTTPReply {
        switch path {
        case "/metrics":
            return HTTPReply(.ok, PrometheusExposition.render(service.snapshot), contentType: PrometheusExposition.contentType)
        case "/status":
            return HTTPReply(.ok, service.snapshot.json.serialized(), contentType: "application/json")
        case "/":
            return HTTPReply(.ok, "glb-healthcheck: /metrics (Prometheus), /status (JSON)\n")
        default:
            return HTTPReply(.notFound, "not found: try /metrics or /status\n")
        }
    }
}
