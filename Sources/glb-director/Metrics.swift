import CDPDKShim
import GLBCore
import GLBPacket

/// The director's metrics in Prometheus' text format: per-port statistics from DPDK,
/// per-lcore engine counters, per-lcore packet-path outcomes, per-table forwarding, and the
/// reload history.
final class MetricsSource: @unchecked Sendable {
    // Raw counter memory is written by the lcores and only read here; 64-bit aligned loads
    // never tear on the platforms DPDK runs on.
    private let counters: CounterStorage
    private let engine: EngineCounterStorage
    private let processingLcores: [Int]
    private let launchedLcores: [Int]
    private let ports: [(id: UInt16, name: String)]
    private let status: DirectorStatus
    private let readiness: ReadinessState
    /// `glb_director_build_info{version, dpdk}`: fixed for the process.
    private let buildInfo: String

    init(runtime: DirectorRuntime, readiness: ReadinessState) {
        self.readiness = readiness
        counters = runtime.counters
        engine = runtime.engine
        processingLcores = runtime.layout.processingLcores
        launchedLcores = runtime.launched.map(\.lcore)
        ports = runtime.nicPorts.map { ($0.id, "\($0.id)") } + runtime.tapPorts.sorted { $0.key < $1.key }.map { ($0.value.id, "vglb_kni\($0.key)") }
        status = runtime.status
        // rte_version() says "DPDK 22.11.4": the label keeps the number.
        var dpdk = String(cString: rte_version())
        if dpdk.hasPrefix("DPDK ") { dpdk.removeFirst(5) }
        buildInfo = SwiftGLBVersion.buildInfoMetric(prefix: "glb_director", labels: [("dpdk", dpdk)])
    }

    func render() -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
            let l = labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
            out += "\(name)\(l.isEmpty ? "" : "{\(l)}") \(value)\n"
        }

        family("glb_director_port_packets_total", "counter", "Packets received and sent by each DPDK port (the exception TAPs included).")
        var stats: [(String, rte_eth_stats)] = []
        for port in ports {
            var s = rte_eth_stats()
            if rte_eth_stats_get(port.id, &s) == 0 { stats.append((port.name, s)) }
        }
        for (name, s) in stats {
            sample("glb_director_port_packets_total", [("port", name), ("direction", "rx")], s.ipackets)
            sample("glb_director_port_packets_total", [("port", name), ("direction", "tx")], s.opackets)
        }
        family("glb_director_port_bytes_total", "counter", "Bytes received and sent by each DPDK port.")
        for (name, s) in stats {
            sample("glb_director_port_bytes_total", [("port", name), ("direction", "rx")], s.ibytes)
            sample("glb_director_port_bytes_total", [("port", name), ("direction", "tx")], s.obytes)
        }
        family("glb_director_port_errors_total", "counter", "Port-level losses: rx_missed (no descriptor), rx_errors, rx_nombuf (no mbuf), tx_errors.")
        for (name, s) in stats {
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_missed")], s.imissed)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_errors")], s.ierrors)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_nombuf")], s.rx_nombuf)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "tx_errors")], s.oerrors)
        }

        family("glb_director_lcore_packets_total", "counter", "Packets moved by each lcore's loop, by event.")
        for (i, lcore) in launchedLcores.enumerated() {
            let block = engine.block(i)
            for c in EngineCounter.allCases {
                sample("glb_director_lcore_packets_total", [("lcore", "\(lcore)"), ("event", c.name)], block[c])
            }
        }
        family("glb_director_lcore_loops_total", "counter", "Loops finished by each lcore: its heartbeat (readiness needs it to move).")
        for (i, lcore) in launchedLcores.enumerated() {
            sample("glb_director_lcore_loops_total", [("lcore", "\(lcore)")], engine.block(i)[.loops])
        }
        family("glb_director_lcore_idle_sleeps_total", "counter", "Sleeps after a run of empty polls (idle_sleep_us).")
        for (i, lcore) in launchedLcores.enumerated() {
            sample("glb_director_lcore_idle_sleeps_total", [("lcore", "\(lcore)")], engine.block(i)[.idleSleeps])
        }
        family("glb_director_packets_total", "counter", "Outcome of the packet path for each packet, by worker lcore.")
        for (i, lcore) in processingLcores.enumerated() {
            let block = counters.worker(i)
            for c in Counter.allCases {
                sample("glb_director_packets_total", [("lcore", "\(lcore)"), ("outcome", c.name)], block[c])
            }
        }
        let state = status.snapshot
        family("glb_director_table_forwarded_packets_total", "counter", "Packets forwarded, by table index.")
        for t in 0..<min(state.tables, Counter.maxTables) {
            sample("glb_director_table_forwarded_packets_total", [("table", "\(t)")], counters.totalForwarded(table: t))
        }

        family("glb_director_ready", "gauge", "1 while the director forwards (every lcore made progress within readiness_window_ms, ports have link, the table has binds, no stop under way); GET /ready says why not.")
        sample("glb_director_ready", [], readiness.current.isReady ? 1 : 0)
        family("glb_director_table_generation", "gauge", "Generation of the loaded forwarding table (1 at start, +1 per successful reload).")
        sample("glb_director_table_generation", [], state.generation)
        family("glb_director_reloads_total", "counter", "Table reloads, by result.")
        sample("glb_director_reloads_total", [("result", "ok")], state.reloads)
        sample("glb_director_reloads_total", [("result", "rejected")], state.failedReloads)
        family("glb_director_last_reload_timestamp_seconds", "gauge", "When the loaded table was loaded (Unix time).")
        out += "glb_director_last_reload_timestamp_seconds \(state.lastReload)\n"
        family("glb_director_tables", "gauge", "Tables, binds and backends of the loaded table.")
        sample("glb_director_tables", [("kind", "tables")], UInt64(state.tables))
        sample("glb_director_tables", [("kind", "binds")], UInt64(state.binds))
        sample("glb_director_tables", [("kind", "backends")], UInt64(state.backends))
        out += buildInfo
        return out
    }
}
