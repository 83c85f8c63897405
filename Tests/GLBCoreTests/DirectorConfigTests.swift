import GLBCore
import Testing

@Suite("director.conf")
struct DirectorConfigTests {
    static let glbExample = """
        {
          "outbound_gateway_mac": "00:11:22:33:44:55",
          "outbound_src_ip": "1.2.3.4",
          "forward_icmp_ping_responses": true,
          "num_worker_queues": 1,
          "flow_paths": [ { "rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0 } ],
          "lcores": {
            "lcore-5": { "rx": true, "tx": true, "flow_paths": [0], "dist": true, "num_dist_workers": 1, "kni": true },
            "lcore-6": { "work": true, "work_source": 5 }
          }
        }
        """

    func loaded(_ text: String) throws(ConfigErrors) -> Loaded<DirectorConfig> {
        try DirectorConfig.decode(bytes: Array(text.utf8), file: "director.conf")
    }

    func decode(_ text: String) throws(ConfigErrors) -> DirectorConfig {
        try loaded(text).config
    }

    func errors(_ text: String) -> [String] {
        do {
            _ = try decode(text)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("an unreadable director.conf is one error naming the file once")
    func missingFile() {
        #expect(throws: ConfigErrors.self) { try DirectorConfig.load(path: "/nonexistent/director.conf") }
        do {
            _ = try DirectorConfig.load(path: "/nonexistent/director.conf")
        } catch {
            #expect(error.errors.map(\.description) == ["/nonexistent/director.conf: cannot open: No such file or directory"])
        }
    }

    @Test("GLB's packaged director.conf is accepted unchanged, with GLB's defaults")
    func glbFile() throws {
        let c = try decode(Self.glbExample)
        #expect(c.outboundGatewayMAC == MACAddress("00:11:22:33:44:55"))
        #expect(c.outboundSourceIP == IPAddress("1.2.3.4"))
        #expect(c.hashFields == .sourceAddress && c.altHashFields == nil)
        #expect(c.forwardICMPPingResponses && c.rxDropEnabled && !c.udpChecksum && !c.dropForeignDestinationMAC)
        #expect(c.statsdPort == nil && c.metricsAddress == nil)
    }

    @Test("SwiftGLB's own keys")
    func ownKeys() throws {
        let c = try decode("""
            {"outbound_gateway_mac": "aabb.ccdd.eeff", "outbound_src_ip": "10.0.0.1",
             "hash_fields": {"src_addr": true, "dst_port": true}, "alt_hash_fields": {"src_addr": true},
             "metrics_address": "127.0.0.1:9100", "udp_checksum": true, "drop_foreign_dst_mac": true,
             "mbuf_pool_size": 32767, "mbuf_data_size": 2176, "statsd_port": 8125,
             "readiness_window_ms": 250, "stop_grace_ms": 3000, "idle_sleep_us": 50,
             "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 1, "tx_queue": 0}],
             "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0]}}}
            """)
        #expect(c.outboundGatewayMAC.description == "aa:bb:cc:dd:ee:ff")
        #expect(c.hashFields == HashFields(srcAddr: true, dstPort: true))
        #expect(!c.hashesUseAddressesOnly)
        #expect(c.metricsAddress == ListenAddress("127.0.0.1:9100") && c.udpChecksum && c.dropForeignDestinationMAC)
        #expect(c.mbufPoolSize == 32767 && c.mbufDataSize == 2176 && c.statsdPort == 8125)
        #expect(c.readinessWindowMilliseconds == 250 && c.stopGraceMilliseconds == 3000 && c.idleSleepMicroseconds == 50)
    }

    @Test("GLB's files get GLB's behaviour: no grace on stop, no idle sleep, a 100 ms readiness window")
    func fleetDefaults() throws {
        let c = try decode("""
            {"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "10.0.0.1",
             "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
             "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0]}}}
            """)
        #expect(c.stopGraceMilliseconds == 0 && c.idleSleepMicroseconds == 0 && c.readinessWindowMilliseconds == 100)
    }

    @Test("every problem names its key", arguments: [
        (#"{"outbound_src_ip": "1.2.3.4", "flow_paths": [], "lcores": {}}"#, "director.conf: outbound_gateway_mac: missing"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44", "outbound_src_ip": "1.2.3.4", "flow_paths": [], "lcores": {}}"#, "outbound_gateway_mac: expected a MAC address like 52:54:00:12:34:56, got \"00:11:22:33:44\""),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "::1", "flow_paths": [], "lcores": {}}"#, "outbound_src_ip: expected an IPv4 address, got \"::1\""),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "hash_fields": {"src_ip": true}, "flow_paths": [], "lcores": {}}"#, "hash_fields.src_ip: unknown field"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "alt_hash_fields": {}, "flow_paths": [], "lcores": {}}"#, "alt_hash_fields: must contain at least one field set to true"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "num_worker_queues": 0, "flow_paths": [], "lcores": {}}"#, "num_worker_queues: 0 is out of range"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "lcores": {}}"#, "flow_paths: missing"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0}], "lcores": {}}"#, "flow_paths[0].rx_queue: missing"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"core-1": {}}}"#, "lcores.core-1: expected keys named lcore-N"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [1]}}}"#, "lcores.lcore-1.flow_paths[0]: expected the index of one of the 1 flow_paths"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0], "dist": true, "num_dist_workers": 2}, "lcore-2": {"work": true, "work_source": 1}}}"#, "lcores.lcore-1.num_dist_workers: is 2 but 1 worker(s) name this lcore as work_source"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-2": {"work": true, "work_source": 1}}}"#, "lcores.lcore-2.work_source: lcore 1 is not a distributor"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {}}"#, "lcores: no lcore receives packets"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "metrics_address": "localhost", "flow_paths": [], "lcores": {}}"#, "metrics_address: expected an address and port"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "metrics_address": "metrics.example:9100", "flow_paths": [], "lcores": {}}"#, "metrics_address: expected an address and port"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0], "work": true, "work_source": 1}}}"#, "lcores.lcore-1: an lcore is either a worker"),
        ("{", "invalid JSON at line 1, column 2"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "readiness_window_ms": 5, "flow_paths": [], "lcores": {}}"#, "readiness_window_ms: 5 is out of range (expected 10-60000)"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "stop_grace_ms": -1, "flow_paths": [], "lcores": {}}"#, "stop_grace_ms: -1 is out of range (expected 0-600000)"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "idle_sleep_us": "10", "flow_paths": [], "lcores": {}}"#, "idle_sleep_us: expected an integer from 0 to 100000, got \"10\""),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "idle_sleep_us": 30000, "flow_paths": [], "lcores": {}}"#, "idle_sleep_us: 30000 µs is more than a quarter of readiness_window_ms (100 ms)"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "flow_paths": [], "lcores": {}}"#, "outbound_src_ip: missing: the IPv4 source address of encapsulated packets (or outbound_src_ipv6 on an IPv6 underlay)"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ipv6": "10.0.0.1", "flow_paths": [], "lcores": {}}"#, "outbound_src_ipv6: expected an IPv6 address, got \"10.0.0.1\""),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ipv6": "ff02::1", "flow_paths": [], "lcores": {}}"#, "outbound_src_ipv6: ff02::1 cannot be a source address"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "0.0.0.0", "flow_paths": [], "lcores": {}}"#, "outbound_src_ip: 0.0.0.0 cannot be a source address"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "tunnel_mtu": 1000, "flow_paths": [], "lcores": {}}"#, "tunnel_mtu: 1000 is out of range (expected 1280-65535)"),
        (#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "tunnel_mtu": 1500, "icmp_too_big_rate": 0, "flow_paths": [], "lcores": {}}"#, "icmp_too_big_rate: 0 is out of range"),
    ])
    func errorsNameTheKey(text: String, expected: String) {
        let found = errors(text)
        #expect(found.contains { $0.contains(expected) }, "\(found)")
    }

    @Test("warnings of a valid director.conf reach the caller, not only those of a broken one")
    func warningsOfAValidFile() throws {
        let base = #"{"outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0]}}"#
        let clean = try loaded(base + #", "outbound_gateway_mac": "00:11:22:33:44:55"}"#)
        #expect(clean.warnings.isEmpty)
        let typo = try loaded(base + #", "outbound_gateway_mac": "00:11:22:33:44:55", "metrics_adress": "127.0.0.1:19540"}"#)
        #expect(typo.warnings.map(\.description) == ["director.conf: metrics_adress: unknown key, ignored"])
        let broadcast = try loaded(base + #", "outbound_gateway_mac": "ff:ff:ff:ff:ff:ff"}"#)
        #expect(broadcast.warnings.map(\.field) == ["outbound_gateway_mac"])
        #expect(broadcast.warnings.first?.message.contains("broadcast MAC") == true)
        let multicast = try loaded(base + #", "outbound_gateway_mac": "01:00:5e:00:00:01"}"#)
        #expect(multicast.warnings.first?.message.contains("multicast MAC") == true)
        let zero = try loaded(base + #", "outbound_gateway_mac": "00:00:00:00:00:00"}"#)
        #expect(zero.warnings.count == 1)
    }

    static let paths = #""flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0]}}"#

    @Test("an IPv6 underlay: outbound_src_ipv6 alone is enough; tunnel_mtu and its answers' rate")
    func underlayKeys() throws {
        let v6 = try loaded(#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ipv6": "2001:db8::d1", "tunnel_mtu": 1500, "icmp_too_big_rate": 200, "icmp_too_big_burst": 20, "# + Self.paths + "}")
        #expect(v6.config.outboundSourceIP == nil && v6.config.outboundSourceIPv6 == IPAddress("2001:db8::d1"))
        #expect(v6.config.tunnelMTU == 1500 && v6.config.icmpTooBigRate == 200 && v6.config.icmpTooBigBurst == 20 && v6.warnings.isEmpty)
        let glb = try decode(Self.glbExample)
        #expect(glb.tunnelMTU == nil && glb.outboundSourceIPv6 == nil && glb.icmpTooBigRate == 1000 && glb.icmpTooBigBurst == 50)
    }

    @Test("tunnel_mtu warnings: answers' rate without tunnel_mtu does nothing; too small for IPv6 clients")
    func underlayWarnings() throws {
        let idle = try loaded(#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "icmp_too_big_rate": 10, "# + Self.paths + "}")
        #expect(idle.warnings.map(\.description) == ["director.conf: icmp_too_big_rate: does nothing without tunnel_mtu"])
        let small = try loaded(#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "outbound_src_ipv6": "2001:db8::d1", "tunnel_mtu": 1300, "# + Self.paths + "}")
        #expect(small.warnings.map(\.field) == ["tunnel_mtu"])
        let fine = try loaded(#"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "outbound_src_ipv6": "2001:db8::d1", "tunnel_mtu": 1500, "# + Self.paths + "}")
        #expect(fine.warnings.isEmpty)
    }
}
