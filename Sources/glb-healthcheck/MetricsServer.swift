import GLBCore
import GLBHealthcheck
import GLBHTTP

/// The HTTP endpoint behind `--metrics-address` (GLBHTTP's, answering as every daemon's does):
/// - `/metrics`: Prometheus text format (see `PrometheusExposition`);
/// - `/status`: the same view as `--once --json`.
enum MetricsServer {
    static func start(at address: ListenAddress, service: HealthcheckService) throws -> HTTPEndpoint {
        try HTTPEndpoint(address: address, name: "glb-healthcheck", routes: [
            HTTPRoute("/metrics", "Prometheus") { .metrics(PrometheusExposition.render(service.snapshot)) },
            HTTPRoute("/status", "JSON") { HTTPReply(.ok, service.snapshot.json.serialized(), contentType: "application/json") },
        ])
    }
}
