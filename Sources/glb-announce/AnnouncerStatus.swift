import GLBAnnounce
import GLBCore
import GLBHTTP
import Synchronization

/// What the announcer is doing, shared with its HTTP endpoint.
final class AnnouncerStatus: Sendable {
    struct State {
        var announcing = false
        var reason = "starting"
        var directorReady = false
        var polls: UInt64 = 0
        /// Changes to announcing [0] and to withdrawn [1].
        var transitions: [UInt64] = [0, 0]
        var lastChange: Double = 0
        var routes = VIPRoutes()
        /// VIP route updates: include files written and `birdc configure` accepted, or not.
        var routeUpdates: UInt64 = 0
        var routeUpdateFailures: UInt64 = 0
        var tableErrors: UInt64 = 0
        var birdUp = false
        var healthcheck: HealthcheckObservation?
    }

    private let state = Mutex(State())

    var snapshot: State { state.withLock { $0 } }

    func update(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
    }

    /// What `--metrics-address` serves.
    var routes: [HTTPRoute] {
        [
            HTTPRoute("/metrics", "Prometheus") { .metrics(Self.metrics(self.snapshot)) },
            HTTPRoute("/status", "text") {
                let s = self.snapshot
                return HTTPReply(.ok, "\(s.announcing ? "announcing" : "withdrawn"): \(s.reason)\n"
                    + "ipv4: \(s.routes.ipv4.joined(separator: " "))\nipv6: \(s.routes.ipv6.joined(separator: " "))\n")
            },
        ]
    }

    static func metrics(_ s: State) -> String {
        var out = PrometheusText()
        func gauge(_ name: String, _ help: String, _ samples: [([(String, String)], Double)]) {
            out.family(name, .gauge, help)
            for (labels, value) in samples { out.sample(name, labels, value) }
        }
        func counter(_ name: String, _ help: String, _ samples: [([(String, String)], UInt64)]) {
            out.family(name, .counter, help)
            for (labels, value) in samples { out.sample(name, labels, integer: value) }
        }
        gauge("glb_announce_announcing", "1 while the VIPs are announced (the interface is up).", [([], s.announcing ? 1 : 0)])
        gauge("glb_announce_director_ready", "1 when the last poll found the director ready.", [([], s.directorReady ? 1 : 0)])
        gauge("glb_announce_vip_prefixes", "VIP prefixes taken from the forwarding table, by family.",
              [([("family", "ipv4")], Double(s.routes.ipv4.count)), ([("family", "ipv6")], Double(s.routes.ipv6.count))])
        gauge("glb_announce_bird_up", "1 when BIRD answered on its control socket at the last look.", [([], s.birdUp ? 1 : 0)])
        var pending: [([(String, String)], Double)] = []
        if case .reloadPending(let p)? = s.healthcheck { pending = [([], p ? 1 : 0)] }
        gauge("glb_announce_healthcheck_reload_pending", "The health checker's glb_healthcheck_reload_pending at the last look.", pending)
        gauge("glb_announce_last_change_timestamp_seconds", "When the VIPs were last announced or withdrawn (Unix time).", [([], s.lastChange)])
        counter("glb_announce_polls_total", "Polls of the director's readiness.", [([], s.polls)])
        counter("glb_announce_changes_total", "Announcements and withdrawals.",
                [([("to", "announced")], s.transitions[0]), ([("to", "withdrawn")], s.transitions[1])])
        counter("glb_announce_route_updates_total", "Updates of BIRD's VIP routes (include files written, then birdc configure), by result; a failed one is tried again every second.",
                [([("result", "ok")], s.routeUpdates), ([("result", "failed")], s.routeUpdateFailures)])
        counter("glb_announce_table_read_errors_total", "Forwarding tables that could not be read (the last VIPs stay).", [([], s.tableErrors)])
        out.buildInfo(prefix: "glb_announce")
        return out.text
    }
}
