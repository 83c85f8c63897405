/// The director's configuration (`director.conf`), in GLB Director's schema plus SwiftGLB's
/// own optional keys.

/// Which packet fields feed the per-packet hash (GLB's `hash_fields`).
public struct HashFields: Equatable, Sendable, CustomStringConvertible {
    public var srcAddr: Bool
    public var dstAddr: Bool
    public var srcPort: Bool
    public var dstPort: Bool

    public init(srcAddr: Bool = false, dstAddr: Bool = false, srcPort: Bool = false, dstPort: Bool = false) {
        self.srcAddr = srcAddr
        self.dstAddr = dstAddr
        self.srcPort = srcPort
        self.dstPort = dstPort
    }

    /// GLB's default: the source address only.
    public static let sourceAddress = HashFields(srcAddr: true)

    /// True when no port is hashed, so fragments without a port header hash like the rest of their flow.
    public var usesAddressesOnly: Bool { !srcPort && !dstPort }

    public var isEmpty: Bool { !(srcAddr || dstAddr || srcPort || dstPort) }

    public var description: String {
        let names = [(srcAddr, "src_addr"), (dstAddr, "dst_addr"), (srcPort, "src_port"), (dstPort, "dst_port")]
        return names.filter(\.0).map(\.1).joined(separator: "+")
    }
}

/// A MAC address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`) and Cisco-style `aabb.ccdd.eeff`.
    public init?(_ text: String) {
        let parts = text.split(separator: text.contains(".") ? "." : (text.contains("-") ? "-" : ":"), omittingEmptySubsequences: false)
        let hex: String
        if parts.count == 6, parts.allSatisfy({ $0.count == 2 }) {
            hex = parts.joined()
        } else if parts.count == 3, parts.allSatisfy({ $0.count == 4 }), text.contains(".") {
            hex = parts.joined()
        } else {
            return nil
        }
        guard let bytes = Hex.decode(hex) else { return nil }
        self.bytes = bytes
    }

    public var description: String { bytes.map(Hex.byte).joined(separator: ":") }
}

/// A mapping from an rx port/queue to the tx port/queue its packets leave on.
public struct FlowPath: Equatable, Sendable {
    public var rxPort: UInt16
    public var rxQueue: UInt16
    public var txPort: UInt16
    public var txQueue: UInt16

    public init(rxPort: UInt16, rxQueue: UInt16, txPort: UInt16, txQueue: UInt16) {
        self.rxPort = rxPort
        self.rxQueue = rxQueue
        self.txPort = txPort
        self.txQueue = txQueue
    }
}

/// What one lcore does (GLB's `lcores."lcore-N"`).
public struct LcoreConfig: Equatable, Sendable {
    public var lcore: Int
    public var rx = false
    public var tx = false
    public var dist = false
    public var work = false
    public var kni = false
    /// Indexes into `DirectorConfig.flowPaths`.
    public var flowPaths: [Int] = []
    public var numDistWorkers = 0
    /// For a worker: the lcore of the distributor it takes packets from.
    public var workSource: Int?

    public init(lcore: Int) {
        self.lcore = lcore
    }

    /// An rx/tx lcore without a distributor runs the whole pipeline itself.
    public var runsToCompletion: Bool { rx && tx && !dist }
}

public struct DirectorConfig: Equatable, Sendable {
    public var outboundGatewayMAC: MACAddress
    /// The IPv4 source of packets encapsulated to IPv4 backends; nil on an IPv6-only underlay.
    public var outboundSourceIP: IPAddress?
    /// The IPv6 source of packets encapsulated to IPv6 backends (`outbound_src_ipv6`); nil on
    /// an IPv4-only underlay.
    public var outboundSourceIPv6: IPAddress?
    /// The largest outer IP packet the underlay carries (`tunnel_mtu`); nil: no check beyond
    /// the frame size, as GLB. A packet whose encapsulation would exceed it is answered with
    /// ICMP "fragmentation needed" or ICMPv6 "packet too big".
    public var tunnelMTU: Int?
    /// Those answers each packet-path lcore may send: a token bucket of `icmpTooBigBurst`
    /// tokens refilled at `icmpTooBigRate` per second.
    public var icmpTooBigRate = 1000
    public var icmpTooBigBurst = 50
    public var hashFields: HashFields = .sourceAddress
    public var altHashFields: HashFields?
    public var forwardICMPPingResponses = true
    public var numWorkerQueues = 1
    public var rxDropEnabled = true
    public var flowPaths: [FlowPath] = []
    public var lcores: [LcoreConfig] = []
    public var statsdPort: UInt16?
    /// `host:port` of the Prometheus endpoint; nil keeps it off.
    public var metricsAddress: ListenAddress?
    public var mbufPoolSize: Int?
    /// Bytes of each mbuf's buffer (headroom included); nil lets the director choose
    /// (room for 9,000-byte packets, or a page for AF_XDP).
    public var mbufDataSize: Int?
    /// Fill the outer UDP checksum (GLB's DPDK director does); off by default, as GUE over IPv4 allows.
    public var udpChecksum = false
    /// Forward only frames addressed to the port's MAC, broadcast or multicast.
    public var dropForeignDestinationMAC = false
    /// A worker lcore that has not finished a loop for this long makes the director not ready.
    public var readinessWindowMilliseconds = 100
    /// On SIGTERM or SIGINT, how long the director keeps forwarding while it reports not ready
    /// (so that routers move traffic away) before it stops; 0 stops at once, as GLB does.
    public var stopGraceMilliseconds = 0
    /// After a run of empty polls, an lcore sleeps this long before polling again; 0 (the
    /// default, for hosts given to one director) never sleeps.
    public var idleSleepMicroseconds = 0

    public init(outboundGatewayMAC: MACAddress, outboundSourceIP: IPAddress?, outboundSourceIPv6: IPAddress? = nil) {
        self.outboundGatewayMAC = outboundGatewayMAC
        self.outboundSourceIP = outboundSourceIP
        self.outboundSourceIPv6 = outboundSourceIPv6
    }

    /// True when every hash in use ignores ports, so non-first fragments can be forwarded.
    public var hashesUseAddressesOnly: Bool {
        hashFields.usesAddressesOnly && (altHashFields?.usesAddressesOnly ?? true)
    }
}

/// `director.conf`. What it holds that works but is likely a mistake (unknown keys, keys that
/// do nothing, a broadcast gateway MAC) comes back as warnings: the director logs them at
/// start, the tools print them.
extension DirectorConfig: ConfigFile {
    public static let sizeLimit = 16 << 20

    public static func read(_ document: JSONValue, _ reader: inout ConfigReader) -> DirectorConfig? {
        reader.readDirectorConfig(document)
    }
}

/// Reads director.conf into the reader: every problem is reported, and reading goes on.
private extension ConfigReader {

    mutating func hashFields(_ o: JSONObject, _ key: String) -> HashFields? {
        guard let v = o[key] else { return nil }
        guard case .object(let h) = v else {
            error(key, "expected an object such as {\"src_addr\": true}, got \(v.kindName)")
            return nil
        }
        for k in h.keys where !["src_addr", "dst_addr", "src_port", "dst_port"].contains(k) {
            error("\(key).\(k)", "unknown field (expected src_addr, dst_addr, src_port, dst_port)")
        }
        let fields = HashFields(
            srcAddr: bool(h, "src_addr", at: key) ?? false, dstAddr: bool(h, "dst_addr", at: key) ?? false,
            srcPort: bool(h, "src_port", at: key) ?? false, dstPort: bool(h, "dst_port", at: key) ?? false)
        if fields.isEmpty { error(key, "must contain at least one field set to true") }
        return fields
    }

    mutating func readDirectorConfig(_ json: JSONValue) -> DirectorConfig? {
        guard let root = rootObject(json, field: "(document)") else { return nil }
        // The known keys are too many to list in each warning.
        warnUnknownKeys(root, known: [
            "outbound_gateway_mac", "outbound_src_ip", "hash_fields", "alt_hash_fields", "forward_icmp_ping_responses",
            "num_worker_queues", "rx_drop_en", "flow_paths", "lcores", "statsd_port", "kni_ip", "metrics_address",
            "mbuf_pool_size", "mbuf_data_size", "udp_checksum", "drop_foreign_dst_mac",
            "readiness_window_ms", "stop_grace_ms", "idle_sleep_us",
            "outbound_src_ipv6", "tunnel_mtu", "icmp_too_big_rate", "icmp_too_big_burst",
        ], at: nil, listingKnown: false)

        var mac: MACAddress?
        switch root["outbound_gateway_mac"] {
        case .string(let s)?:
            mac = MACAddress(s)
            if mac == nil { error("outbound_gateway_mac", "expected a MAC address like 52:54:00:12:34:56, got \"\(s)\"") }
            if let first = mac?.bytes.first, first & 1 == 1 {
                // Every encapsulated packet would flood the segment (or go nowhere) instead of reaching the router.
                warning("outbound_gateway_mac", "\(s) is a \(mac!.bytes.allSatisfy { $0 == 0xFF } ? "broadcast" : "multicast") MAC: every encapsulated packet would flood the segment instead of going to the router; give the router's own MAC")
            }
            if let bytes = mac?.bytes, bytes.allSatisfy({ $0 == 0 }) {
                warning("outbound_gateway_mac", "00:00:00:00:00:00 is no router's MAC: give the router's own")
            }
        case let other?: error("outbound_gateway_mac", "expected a MAC address string, got \(other.kindName)")
        case nil: error("outbound_gateway_mac", "missing: the MAC of the router every encapsulated packet is sent to")
        }

        let src = sourceAddress(root, "outbound_src_ip", family: .ipv4)
        let src6 = sourceAddress(root, "outbound_src_ipv6", family: .ipv6)
        if root["outbound_src_ip"] == nil && root["outbound_src_ipv6"] == nil {
            error("outbound_src_ip", "missing: the IPv4 source address of encapsulated packets (or outbound_src_ipv6 on an IPv6 underlay)")
        }
        let tunnelMTU = integer(root, "tunnel_mtu", in: 1280...65535)
        let tooBigRate = integer(root, "icmp_too_big_rate", in: 1...1_000_000)
        let tooBigBurst = integer(root, "icmp_too_big_burst", in: 1...1_000_000)
        if tunnelMTU == nil && root["tunnel_mtu"] == nil {
            for key in ["icmp_too_big_rate", "icmp_too_big_burst"] where root[key] != nil {
                warning(key, "does nothing without tunnel_mtu")
            }
        }
        if let tunnelMTU {
            // The largest encapsulation: three hops (alt_hash_fields) in the widest underlay in use.
            let overhead = root["outbound_src_ipv6"] != nil ? 104 : 48
            if tunnelMTU - overhead < 1280 {
                warning("tunnel_mtu", "\(tunnelMTU) leaves less than IPv6's minimum of 1,280 bytes for the client's packet after up to \(overhead) bytes of encapsulation: IPv6 clients' full-size packets cannot be carried")
            }
        }

        let hash = hashFields(root, "hash_fields")
        let alt = hashFields(root, "alt_hash_fields")
        let queues = integer(root, "num_worker_queues", in: 1...1024)
        let statsd = integer(root, "statsd_port", in: 1...65535)
        let pool = integer(root, "mbuf_pool_size", in: 1024...(1 << 30))
        let dataSize = integer(root, "mbuf_data_size", in: 1152...65535)
        let readiness = integer(root, "readiness_window_ms", in: 10...60_000)
        let grace = integer(root, "stop_grace_ms", in: 0...600_000)
        let idleSleep = integer(root, "idle_sleep_us", in: 0...100_000)
        // An idle lcore loops once per sleep: a sleep near the readiness window would make an
        // idle director look hung.
        if let idleSleep, idleSleep > 0, idleSleep * 4 > (readiness ?? 100) * 1000 {
            error("idle_sleep_us", "\(idleSleep) µs is more than a quarter of readiness_window_ms (\(readiness ?? 100) ms): an idle lcore would look hung")
        }

        var metrics: ListenAddress?
        if let v = root["metrics_address"] {
            if case .string(let s) = v, let address = ListenAddress(s) {
                metrics = address
            } else {
                error("metrics_address", "expected an address and port such as \"127.0.0.1:19540\" or \"[::1]:19540\"")
            }
        }

        let flowPaths = readFlowPaths(root["flow_paths"])
        let lcores = readLcores(root["lcores"], flowPathCount: flowPaths.count)

        guard let mac, src != nil || src6 != nil, !hasErrors else { return nil }
        var config = DirectorConfig(outboundGatewayMAC: mac, outboundSourceIP: src, outboundSourceIPv6: src6)
        config.tunnelMTU = tunnelMTU
        config.icmpTooBigRate = tooBigRate ?? 1000
        config.icmpTooBigBurst = tooBigBurst ?? 50
        config.hashFields = hash ?? .sourceAddress
        config.altHashFields = alt
        config.forwardICMPPingResponses = bool(root, "forward_icmp_ping_responses") ?? true
        config.rxDropEnabled = bool(root, "rx_drop_en") ?? true
        config.udpChecksum = bool(root, "udp_checksum") ?? false
        config.dropForeignDestinationMAC = bool(root, "drop_foreign_dst_mac") ?? false
        config.numWorkerQueues = queues ?? 1
        config.statsdPort = statsd.map(UInt16.init)
        config.metricsAddress = metrics
        config.mbufPoolSize = pool
        config.mbufDataSize = dataSize
        config.readinessWindowMilliseconds = readiness ?? 100
        config.stopGraceMilliseconds = grace ?? 0
        config.idleSleepMicroseconds = idleSleep ?? 0
        config.flowPaths = flowPaths
        config.lcores = lcores
        return config
    }

    /// `outbound_src_ip` or `outbound_src_ipv6`: a unicast address of `family`, or nil.
    mutating func sourceAddress(_ o: JSONObject, _ key: String, family: AddressFamily) -> IPAddress? {
        let name = family == .ipv4 ? "an IPv4" : "an IPv6"
        switch o[key] {
        case .string(let s)?:
            guard let address = IPAddress(s), address.family == family else {
                error(key, "expected \(name) address, got \"\(s)\"")
                return nil
            }
            if address.bytes.allSatisfy({ $0 == 0 }) || (family == .ipv6 && address.bytes[0] == 0xff) || (family == .ipv4 && address.bytes[0] >= 224) {
                error(key, "\(s) cannot be a source address: give this director's own unicast address")
                return nil
            }
            return address
        case let other?:
            error(key, "expected \(name) address string, got \(other.kindName)")
            return nil
        case nil:
            return nil
        }
    }

    mutating func readFlowPaths(_ value: JSONValue?) -> [FlowPath] {
        guard let value else {
            error("flow_paths", "missing: expected a list of {\"rx_port\", \"rx_queue\", \"tx_port\", \"tx_queue\"}")
            return []
        }
        guard case .array(let items) = value else {
            error("flow_paths", "expected an array, got \(value.kindName)")
            return []
        }
        var paths: [FlowPath] = []
        for (i, item) in items.enumerated() {
            let path = "flow_paths[\(i)]"
            guard case .object(let o) = item else {
                error(path, "expected an object, got \(item.kindName)")
                continue
            }
            var values: [UInt16] = []
            for key in ["rx_port", "rx_queue", "tx_port", "tx_queue"] {
                if o[key] == nil { error("\(path).\(key)", "missing") }
                values.append(UInt16(integer(o, key, at: path, in: 0...1023) ?? 0))
            }
            paths.append(FlowPath(rxPort: values[0], rxQueue: values[1], txPort: values[2], txQueue: values[3]))
        }
        return paths
    }

    mutating func readLcores(_ value: JSONValue?, flowPathCount: Int) -> [LcoreConfig] {
        guard let value else {
            error("lcores", "missing: expected an object of \"lcore-N\" entries")
            return []
        }
        guard case .object(let o) = value else {
            error("lcores", "expected an object, got \(value.kindName)")
            return []
        }
        var lcores: [LcoreConfig] = []
        for (key, item) in o.members {
            let path = "lcores.\(key)"
            guard key.hasPrefix("lcore-"), let n = Int(key.dropFirst(6)), (0..<1024).contains(n) else {
                error(path, "expected keys named lcore-N (N a DPDK lcore number)")
                continue
            }
            guard case .object(let c) = item else {
                error(path, "expected an object, got \(item.kindName)")
                continue
            }
            var lcore = LcoreConfig(lcore: n)
            lcore.rx = bool(c, "rx", at: path) ?? false
            lcore.tx = bool(c, "tx", at: path) ?? false
            lcore.dist = bool(c, "dist", at: path) ?? false
            lcore.work = bool(c, "work", at: path) ?? false
            lcore.kni = bool(c, "kni", at: path) ?? false
            if lcore.rx || lcore.tx {
                switch c["flow_paths"] {
                case .array(let ids)?:
                    for (j, id) in ids.enumerated() {
                        guard case .integer(let f) = id, f >= 0, f < flowPathCount else {
                            error("\(path).flow_paths[\(j)]", "expected the index of one of the \(flowPathCount) flow_paths")
                            continue
                        }
                        lcore.flowPaths.append(Int(f))
                    }
                    if ids.isEmpty { error("\(path).flow_paths", "an rx/tx lcore needs at least one flow path") }
                case let other?:
                    error("\(path).flow_paths", "expected an array of flow path indexes, got \(other.kindName)")
                case nil:
                    error("\(path).flow_paths", "missing: an rx/tx lcore needs the flow paths it serves")
                }
                if lcore.rx != lcore.tx { error(path, "rx and tx must be enabled together (the lcore sends what it receives)") }
            }
            if lcore.dist {
                lcore.numDistWorkers = integer(c, "num_dist_workers", at: path, in: 1...128) ?? 0
                if c["num_dist_workers"] == nil { error("\(path).num_dist_workers", "missing: distributors need their worker count") }
                if !lcore.rx { error(path, "a distributor must also have rx and tx") }
            }
            if lcore.work {
                lcore.workSource = integer(c, "work_source", at: path, in: 0...1023)
                if c["work_source"] == nil { error("\(path).work_source", "missing: workers need the lcore of their distributor") }
            }
            if lcore.work && (lcore.rx || lcore.tx || lcore.dist) {
                error(path, "an lcore is either a worker (\"work\") or an rx/tx/dist lcore, not both")
            }
            if !(lcore.rx || lcore.work) {
                warning(path, "does nothing (neither rx/tx nor work)")
            }
            lcores.append(lcore)
        }
        // Workers must name a distributor, and each distributor's worker count must match.
        for lcore in lcores where lcore.work {
            guard let source = lcore.workSource else { continue }
            guard let dist = lcores.first(where: { $0.lcore == source }), dist.dist else {
                error("lcores.lcore-\(lcore.lcore).work_source", "lcore \(source) is not a distributor (\"dist\": true)")
                continue
            }
        }
        for dist in lcores where dist.dist {
            let workers = lcores.filter { $0.work && $0.workSource == dist.lcore }.count
            if workers != dist.numDistWorkers {
                error("lcores.lcore-\(dist.lcore).num_dist_workers", "is \(dist.numDistWorkers) but \(workers) worker(s) name this lcore as work_source")
            }
        }
        if !lcores.contains(where: { $0.rx }) {
            error("lcores", "no lcore receives packets: give one lcore \"rx\": true, \"tx\": true and its \"flow_paths\"")
        }
        return lcores
    }
}
