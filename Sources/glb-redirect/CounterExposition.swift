import GLBCore

/// glb-redirect's counters in Prometheus' text format, for node_exporter's textfile collector
/// (`stats --format prometheus`). The families follow the counters' structure
/// (glb_redirect_counters.h) so that sums mean something: every packet is in exactly one
/// `outcome` of `glb_redirect_packets_total`, and `glb_redirect_forwarded_packets_total`
/// splits the `forwarded` outcome by the way it was sent.
enum CounterExposition {
    /// The `path` label of each way of forwarding, by counter.
    static let forwardingPaths = [("forward_fib_ok", "fib"), ("forward_neigh_fallback", "neigh")]

    static func render(_ counters: CounterValues, interface: String) -> String {
        let iface = ("iface", interface)
        var out = PrometheusText()
        attached(true, iface, into: &out)

        out.family("glb_redirect_packets_total", .counter,
                   "Packets glb-redirect's program handled, by outcome: each packet is counted in exactly one (docs/glb-redirect.md, Counters).")
        for entry in counters.entries where CounterValues.isOutcome(entry.name) {
            out.sample("glb_redirect_packets_total", [iface, ("outcome", entry.name)], integer: entry.value)
        }
        out.family("glb_redirect_forwarded_packets_total", .counter,
                   "Packets sent on to the next hop, by path: fib (MACs from the FIB lookup), neigh (bpf_redirect_neigh, slower: no neighbour entry, or forwarding off on the interface).")
        for (counter, path) in forwardingPaths {
            out.sample("glb_redirect_forwarded_packets_total", [iface, ("path", path)], integer: counters[counter])
        }
        out.family("glb_redirect_skipped_self_hops_total", .counter,
                   "Packets whose hop list named this host next: that hop was skipped.")
        out.sample("glb_redirect_skipped_self_hops_total", [iface], integer: counters["forwarded_skipped_self"])
        return out.text
    }

    /// What there is to say about an interface without glb-redirect: that it is not attached.
    static func renderNotAttached(interface: String) -> String {
        var out = PrometheusText()
        attached(false, ("iface", interface), into: &out)
        return out.text
    }

    private static func attached(_ attached: Bool, _ iface: (String, String), into out: inout PrometheusText) {
        out.family("glb_redirect_attached", .gauge,
                   "1 when glb-redirect's program is attached to the interface, 0 when not (the backend answers GUE with ICMP port unreachable).")
        out.sample("glb_redirect_attached", [iface], attached ? 1 : 0)
    }
}
