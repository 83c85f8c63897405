import CDPDKShim
import GLBCore
import GLBDirectorPlan
import GLBPacket

/// The director's metrics in Prometheus' text format: per-port statistics from DPDK,
/// per-lcore engine counters, per-lcore packet-path outcomes, per-table forwarding, and the
/// reload history.
final class MetricsSource: @unchecked Sendable {
    // Raw counter memory is written by the lcores and only read here; 64-bit aligned loads
    // never tear on the platforms DPDK runs on.
    private let counters: CounterStorage
    private let engine: EngineCounterStorage
    /// Which counter blocks each lcore writes, and so which lcore each block is labelled with.
    private let plan: DirectorPlan
    private let ports: [(id: UInt16, name: String)]
    private let status: DirectorStatus
    private let readiness: ReadinessState
    /// The DPDK version for `glb_director_build_info{version, dpdk}`.
    private let dpdkVersion: String

    init(runtime: DirectorRuntime, readiness: ReadinessState) {
        self.readiness = readiness
        counters = runtime.counters
        engine = runtime.engine
        plan = runtime.plan
        ports = runtime.nicPorts.map { ($0.id, "\($0.id)") } + runtime.tapPorts.sorted { $0.key < $1.key }.map { ($0.value.id, "vglb_kni\($0.key)") }
        status = runtime.status
        // rte_version() says "DPDK 22.11.4": the label keeps the number.
        var dpdk = String(cString: rte_version())
        if dpdk.hasPrefix("DPDK ") { dpdk.removeFirst(5) }
        dpdkVersion = dpdk
    }

    func render() -> String {
        var out = PrometheusText()
        func family(_ name: String, _ kind: PrometheusText.Kind, _ help: String) { out.family(name, kind, help) }
        func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) { out.sample(name, labels, integer: value) }

        family("glb_director_port_packets_total", .counter, "Packets received and sent by each DPDK port (the exception TAPs included).")
        var stats: [(String, rte_eth_stats)] = []
        for port in ports {
            var s = rte_eth_stats()
            if rte_eth_stats_get(port.id, &s) == 0 { stats.append((port.name, s)) }
        }
        for (name, s) in stats {
            sample("glb_director_port_packets_total", [("port", name), ("direction", "rx")], s.ipackets)
            sample("glb_director_port_packets_total", [("port", name), ("direction", "tx")], s.opackets)
        }
        family("glb_director_port_bytes_total", .counter, "Bytes received and sent by each DPDK port.")
        for (name, s) in stats {
            sample("glb_director_port_bytes_total", [("port", name), ("direction", "rx")], s.ibytes)
            sample("glb_director_port_bytes_total", [("port", name), ("direction", "tx")], s.obytes)
        }
        family("glb_director_port_errors_total", .counter, "Port-level losses: rx_missed (no descriptor), rx_errors, rx_nombuf (no mbuf), tx_errors.")
        for (name, s) in stats {
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_missed")], s.imissed)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_errors")], s.ierrors)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "rx_nombuf")], s.rx_nombuf)
            sample("glb_director_port_errors_total", [("port", name), ("kind", "tx_errors")], s.oerrors)
        }

        // Each lcore's loop: what it received and sent, what it dropped and why, and what went
        // through the exception path; one meaning per family.
        let blocks = plan.lcores.map { (lcore: "\($0.id)", block: engine.block($0.engineBlock)) }
        family("glb_director_lcore_received_packets_total", .counter, "Packets each lcore's loop received (from ports or rings).")
        for l in blocks { sample("glb_director_lcore_received_packets_total", [("lcore", l.lcore)], l.block[.rxPackets]) }
        family("glb_director_lcore_sent_packets_total", .counter, "Packets each lcore's loop sent (to ports or rings).")
        for l in blocks { sample("glb_director_lcore_sent_packets_total", [("lcore", l.lcore)], l.block[.txPackets]) }
        family("glb_director_lcore_dropped_packets_total", .counter, "Packets each lcore's loop dropped, by reason.")
        for l in blocks {
            for c in EngineCounter.dropReasons { sample("glb_director_lcore_dropped_packets_total", [("lcore", l.lcore), ("reason", c.dropReason!)], l.block[c]) }
        }
        family("glb_director_lcore_exception_packets_total", .counter, "Packets through the exception path (vglb_kniN), by direction.")
        for l in blocks {
            sample("glb_director_lcore_exception_packets_total", [("lcore", l.lcore), ("direction", "to_kernel")], l.block[.exceptionToKernel])
            sample("glb_director_lcore_exception_packets_total", [("lcore", l.lcore), ("direction", "to_wire")], l.block[.kernelToWire])
        }
        family("glb_director_lcore_loops_total", .counter, "Loops finished by each lcore: its heartbeat (readiness needs it to move).")
        for l in blocks { sample("glb_director_lcore_loops_total", [("lcore", l.lcore)], l.block[.loops]) }
        family("glb_director_lcore_idle_sleeps_total", .counter, "Sleeps after a run of empty polls (idle_sleep_us).")
        for l in blocks { sample("glb_director_lcore_idle_sleeps_total", [("lcore", l.lcore)], l.block[.idleSleeps]) }

        family("glb_director_packets_total", .counter, "Outcome of the packet path for each packet, by worker lcore.")
        for lcore in plan.processingLcores {
            guard let packetBlock = lcore.packetBlock else { continue }
            let block = counters.worker(packetBlock)
            for c in Counter.allCases {
                sample("glb_director_packets_total", [("lcore", "\(lcore.id)"), ("outcome", c.name)], block[c])
            }
        }
        let state = status.snapshot
        family("glb_director_table_forwarded_packets_total", .counter, "Packets forwarded, by table index.")
        for t in 0..<min(state.tables, Counter.maxTables) {
            sample("glb_director_table_forwarded_packets_total", [("table", "\(t)")], counters.totalForwarded(table: t))
        }

        family("glb_director_ready", .gauge, "1 while the director forwards (every lcore made progress within readiness_window_ms, ports have link, the table has binds, no stop under way); GET /ready says why not.")
        sample("glb_director_ready", [], readiness.current.isReady ? 1 : 0)
        family("glb_director_table_generation", .gauge, "Generation of the loaded forwarding table (1 at start, +1 per successful reload).")
        sample("glb_director_table_generation", [], state.generation)
        family("glb_director_reloads_total", .counter, "Table reloads, by result.")
        sample("glb_director_reloads_total", [("result", "ok")], state.reloads)
        sample("glb_director_reloads_total", [("result", "rejected")], state.failedReloads)
        family("glb_director_last_reload_timestamp_seconds", .gauge, "When the loaded table was loaded (Unix time).")
        out.sample("glb_director_last_reload_timestamp_seconds", [], state.lastReload)
        family("glb_director_loaded_tables", .gauge, "Tables in the loaded forwarding table.")
        sample("glb_director_loaded_tables", [], UInt64(state.tables))
        family("glb_director_loaded_binds", .gauge, "Binds of the loaded forwarding table, all tables together.")
        sample("glb_director_loaded_binds", [], UInt64(state.binds))
        family("glb_director_loaded_backends", .gauge, "Backends of the loaded forwarding table, all tables together.")
        sample("glb_director_loaded_backends", [], UInt64(state.backends))
        out.buildInfo(prefix: "glb_director", labels: [("dpdk", dpdkVersion)])
        return out.text
    }
}
