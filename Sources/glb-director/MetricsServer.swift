import GLBCore
import GLBHTTP

/// The director's HTTP endpoint on `metrics_address`: `GET /metrics` (Prometheus text
/// format) and `GET /ready` (200 "ready" while the director forwards, 503 with one
/// "not ready: reason" line per reason when it does not).
enum MetricsServer {
    static func start(address: ListenAddress, source: MetricsSource, readiness: ReadinessState) throws -> HTTPEndpoint {
        do {
            return try HTTPEndpoint(address: address) { path in
                switch path {
                case "/metrics":
                    return .metrics(source.render())
                case "/ready":
                    let verdict = readiness.current
                    return verdict.isReady
                        ? HTTPReply(.ok, "ready\n")
                        : HTTPReply(.serviceUnavailable, verdict.reasons.map { "not ready: \($0)\n" }.joined())
                default:
                    return HTTPReply(.notFound, "not found: the metrics are at /metrics, readiness at /ready\n")
                }
            }
        } catch {
            throw MetricsServerError(description: "metrics_address: \(error)")
        }
    }
}

struct MetricsServerError: Error, CustomStringConvertible {
    var description: String
}
