import CDPDKShim
import GLBDirectorPlan
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

/// GLB Director's statsd metrics (DogStatsD tags), sent every second as the change since the
/// last report (counters start at zero with the process) to
/// 127.0.0.1:`statsd_port`: per-port packets/bytes/errors, per-queue packets/bytes/errors
/// and per-core packet counts, under the same names as GLB's, so existing dashboards keep
/// working.
final class StatsdReporter {
    private let fd: Int32
    private var address = sockaddr_in()
    private let runtime: DirectorRuntime
    private var previous: [String: UInt64] = [:]
    static let namespace = "glb_director_ng."

    init?(port: UInt16, runtime: DirectorRuntime) {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.runtime = runtime
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    }

    deinit { close(fd) }

    /// Sends the change of each counter since the previous call.
    func report() {
        for port in runtime.nicPorts {
            var s = rte_eth_stats()
            guard rte_eth_stats_get(port.id, &s) == 0 else { continue }
            let tag = "port:" + (port.id < 10 ? "0\(port.id)" : "\(port.id)")
            delta("port.packets.rx", tag, s.ipackets)
            delta("port.packets.tx", tag, s.opackets)
            delta("port.bytes.rx", tag, s.ibytes)
            delta("port.bytes.tx", tag, s.obytes)
            delta("port.packets.rx_missed", tag, s.imissed)
            delta("port.packets.rx_errors", tag, s.ierrors)
            delta("port.packets.tx_errors", tag, s.oerrors)
            delta("port.packets.rx_nombuf", tag, s.rx_nombuf)
            // GLB's per-queue series, for the queues the director uses (DPDK keeps per-queue
            // counters for the first RTE_ETHDEV_QUEUE_STAT_CNTRS queues only).
            let queues = min(runtime.plan.queuesPerPort, Int(RTE_ETHDEV_QUEUE_STAT_CNTRS))
            for q in 0..<queues {
                let queueTag = tag + ",queue:" + (q < 10 ? "0\(q)" : "\(q)")
                delta("queue.packets.rx", queueTag, Self.element(s.q_ipackets, q))
                delta("queue.packets.rx_errors", queueTag, Self.element(s.q_errors, q))
                delta("queue.bytes.rx", queueTag, Self.element(s.q_ibytes, q))
                delta("queue.packets.tx", queueTag, Self.element(s.q_opackets, q))
                delta("queue.bytes.tx", queueTag, Self.element(s.q_obytes, q))
            }
        }
        for lcore in runtime.plan.lcores {
            let tag = "core:" + (lcore.id < 10 ? "0\(lcore.id)" : "\(lcore.id)")
            let e = runtime.engine.block(lcore.engineBlock)
            delta("core.packets.total", tag, e[.rxPackets])
            delta("core.packets.eth_tx_sent", tag, e[.txPackets])
            delta("core.packets.kni", tag, e[.exceptionToKernel])
            delta("core.packets.kni_tx_sent", tag, e[.kernelToWire])
            if let block = lcore.packetBlock {
                let c = runtime.counters.worker(block)
                let unmatched = c[.notMatched] &+ c[.notIP]
                let failures = Counter.allCases.filter(\.isDrop)
                delta("core.packets.matched", tag, c[.forwarded])
                delta("core.packets.unmatched", tag, unmatched)
                delta("core.packets.encap.success", tag, c[.forwarded])
                delta("core.packets.encap.failure", tag, failures.reduce(0) { $0 &+ c[$1] })
                // tunnel_mtu: packets answered with ICMP "too big", and those not answered, by reason.
                delta("core.packets.too_big.answered", tag, c[.tooBigAnswered])
                delta("core.packets.too_big.rate_limited", tag, c[.tooBigRateLimited])
                delta("core.packets.too_big.df_clear", tag, c[.tooBigDFClear])
                delta("core.packets.too_big.icmp_error", tag, c[.tooBigICMPError])
            }
        }
        delta("core.config_reload_count", "core:main", runtime.status.snapshot.reloads)
    }

    /// Element `i` of one of rte_eth_stats' per-queue arrays (a tuple in Swift).
    private static func element<T>(_ array: T, _ i: Int) -> UInt64 {
        withUnsafeBytes(of: array) { $0.load(fromByteOffset: i * MemoryLayout<UInt64>.stride, as: UInt64.self) }
    }

    private func delta(_ name: String, _ tag: String, _ value: UInt64) {
        let key = name + "|" + tag
        let change = value &- (previous[key] ?? 0)
        previous[key] = value
        let line = "\(Self.namespace)\(name):\(change)|c|#\(tag)"
        _ = line.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}
