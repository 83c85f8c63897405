import GLBCore
import GLBHTTP

import Synchronization

/// The director's HTTP endpoint on `metrics_address` (GLBHTTP's, answering as every daemon's
/// does): `GET /metrics` (Prometheus text format) and `GET /ready` (200 "ready" while the
/// director forwards, 503 with one "not ready: reason" line per reason when it does not). It
/// listens before EAL starts, so
/// an unusable address stops the director before it touches hugepages or ports; the
/// metrics arrive once the ports are up (503 "starting" until then).
enum MetricsServer {
    final class SourceSlot: Sendable {
        let source = Mutex<MetricsSource?>(nil)
    }

    static func start(address: ListenAddress, slot: SourceSlot, readiness: ReadinessState) throws -> HTTPEndpoint {
        do {
            return try HTTPEndpoint(address: address, name: "glb-director", routes: [
                HTTPRoute("/metrics", "Prometheus") {
                    guard let source = slot.source.withLock({ $0 }) else { return HTTPReply(.serviceUnavailable, "starting\n") }
                    return .metrics(source.render())
                },
                HTTPRoute("/ready", "readiness") {
                    let verdict = readiness.current
                    return verdict.isReady
                        ? HTTPReply(.ok, "ready\n")
                        : HTTPReply(.serviceUnavailable, verdict.reasons.map { "not ready: \($0)\n" }.joined())
                },
            ])
        } catch {
            throw MetricsServerError(description: "metrics_address: \(error)")
        }
    }
}

struct MetricsServerError: Error, CustomStringConvertible {
    var description: String
}
