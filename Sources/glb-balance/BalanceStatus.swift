import GLBBalance
import GLBCore
import GLBDaemon
import GLBHTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the loop saw and did, per table, shared with its HTTP endpoint.
final class BalanceStatus: Sendable {
    struct Table {
        var weights: [String: Int] = [:]
        var utilization: [String: Double] = [:]
        var spread: Double?
        var lastAction = BalanceDecision.Action.hold
        var lastReason = "no step yet"
        var actions: [String: UInt64] = [:]
        var lastChange: Double = 0
    }

    struct State {
        var tables: [(name: String, table: Table)] = []
        var writes: UInt64 = 0
        var writeFailures: UInt64 = 0
        var reloadFailures: UInt64 = 0
    }

    private let state = Mutex(State())

    func update(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
    }

    func record(_ name: String, _ d: BalanceDecision, weights: [String: Int]?) {
        state.withLock { s in
            let i = s.tables.firstIndex { $0.name == name } ?? { s.tables.append((name, Table())); return s.tables.count - 1 }()
            var t = s.tables[i].table
            if let weights { t.weights = weights }
            if !d.utilization.isEmpty { t.utilization = d.utilization }
            if let spread = d.spread { t.spread = spread }
            t.lastAction = d.action
            t.lastReason = d.reason
            t.actions[d.action.rawValue, default: 0] += 1
            if d.action == .change { t.lastChange = DaemonClock.unixSeconds() }
            s.tables[i].table = t
        }
    }

    /// What `--metrics-address` serves.
    var routes: [HTTPRoute] {
        [
            HTTPRoute("/metrics", "Prometheus") { .metrics(Self.metrics(self.state.withLock { $0 })) },
            HTTPRoute("/status", "text") { self.statusText() },
        ]
    }

    private func statusText() -> HTTPReply {
        let s = state.withLock { $0 }
        var text = ""
        for (name, t) in s.tables {
            text += "\(name): \(t.lastAction.rawValue): \(t.lastReason)\n"
            for (address, w) in t.weights.sorted(by: { $0.key < $1.key }) {
                text += "  \(address) weight \(w)" + (t.utilization[address].map { " utilization \($0)" } ?? "") + "\n"
            }
        }
        return HTTPReply(.ok, text)
    }

    static func metrics(_ s: State) -> String {
        var out = PrometheusText()
        func family(_ name: String, _ kind: PrometheusText.Kind, _ help: String) { out.family(name, kind, help) }
        func sample(_ name: String, _ labels: [(String, String)], _ value: Double) { out.sample(name, labels, value) }
        func sample(_ name: String, _ labels: [(String, String)], _ value: Int) { out.sample(name, labels, integer: UInt64(max(value, 0))) }
        func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) { out.sample(name, labels, integer: value) }
        family("glb_balance_weight", .gauge, "The weight in force of each balanced backend.")
        for (name, t) in s.tables {
            for (a, w) in t.weights.sorted(by: { $0.key < $1.key }) { sample("glb_balance_weight", [("table", name), ("backend", a)], w) }
        }
        family("glb_balance_utilization", .gauge, "The load each backend had at the last step (the table's query).")
        for (name, t) in s.tables {
            for (a, u) in t.utilization.sorted(by: { $0.key < $1.key }) { sample("glb_balance_utilization", [("table", name), ("backend", a)], u) }
        }
        family("glb_balance_utilization_spread", .gauge, "Max minus min utilization of the table's active, healthy backends at the last step.")
        for (name, t) in s.tables { if let spread = t.spread { sample("glb_balance_utilization_spread", [("table", name)], spread) } }
        family("glb_balance_frozen", .gauge, "1 while the table's loop does not act (metrics missing, health or source changing, a foreign writer).")
        for (name, t) in s.tables { sample("glb_balance_frozen", [("table", name)], t.lastAction == .freeze ? 1 : 0) }
        family("glb_balance_last_action", .gauge, "1 for the action of the last step (change, hold, wait, freeze).")
        for (name, t) in s.tables { sample("glb_balance_last_action", [("table", name), ("action", t.lastAction.rawValue)], 1) }
        family("glb_balance_steps_total", .counter, "Steps, by the action taken.")
        for (name, t) in s.tables {
            for action in ["change", "hold", "wait", "freeze"] { sample("glb_balance_steps_total", [("table", name), ("action", action)], t.actions[action] ?? 0) }
        }
        family("glb_balance_last_change_timestamp_seconds", .gauge, "When the table's weights last changed (Unix time; 0: not yet).")
        for (name, t) in s.tables { sample("glb_balance_last_change_timestamp_seconds", [("table", name)], t.lastChange) }
        family("glb_balance_writes_total", .counter, "Writes of the output table, by result.")
        sample("glb_balance_writes_total", [("result", "ok")], s.writes)
        sample("glb_balance_writes_total", [("result", "failed")], s.writeFailures)
        family("glb_balance_reload_failures_total", .counter, "Runs of reload_command that failed.")
        sample("glb_balance_reload_failures_total", [], s.reloadFailures)
        out.buildInfo(prefix: "glb_balance")
        return out.text
    }
}
