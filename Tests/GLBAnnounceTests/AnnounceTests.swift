import GLBAnnounce
import GLBCore
import GLBHTTP
import Testing

@Suite("Announcer: VIPs from the table")
struct VIPRoutesTests {
    static func table(_ binds: [(String, Int?)]) -> CompiledForwardingTable {
        let b = binds.map { Bind(address: IPAddress($0.0)!, prefixLength: $0.1, proto: .tcp, portStart: 80, portEnd: 80) }
        let half = b.count / 2
        return CompiledForwardingTable(tables: [
            CompiledTable(backends: [], binds: Array(b[..<half]), hashKey: SipHashKey(k0: 1, k1: 2), rows: []),
            CompiledTable(backends: [], binds: Array(b[half...]), hashKey: SipHashKey(k0: 1, k1: 2), rows: []),
        ])
    }

    @Test("every bind of every table, once, host bits cleared, sorted, by family")
    func prefixes() {
        let routes = VIPRoutes(table: Self.table([
            ("10.99.0.2", nil), ("10.99.0.1", nil), ("10.99.0.1", nil), ("192.0.2.77", 25), ("2001:db8::1", nil), ("2001:db8:1::5", 64),
        ]))
        #expect(routes.ipv4 == ["10.99.0.1/32", "10.99.0.2/32", "192.0.2.0/25"])
        #expect(routes.ipv6 == ["2001:db8::1/128", "2001:db8:1::/64"])
        #expect(routes.count == 5)
        #expect(VIPRoutes(table: CompiledForwardingTable(tables: [])).isEmpty)
    }

    @Test("the include file has one static route per prefix through the interface")
    func include() {
        let text = BirdInclude.render(["10.99.0.1/32", "192.0.2.0/25"], interface: "glbvip")
        #expect(text.split(separator: "\n").dropFirst() == [#"route 10.99.0.1/32 via "glbvip";"#, #"route 192.0.2.0/25 via "glbvip";"#])
        #expect(text.hasPrefix("#"))
        #expect(BirdInclude.render([], interface: "glbvip").split(separator: "\n").count == 1)
    }
}

@Suite("Announcer: when to announce")
struct AnnounceDeciderTests {
    static let s: UInt64 = 1_000_000_000

    @Test("starts withdrawn; announces after `rise` ready polls; withdraws after `fall` bad ones")
    func riseAndFall() {
        var d = AnnounceDecider(policy: AnnouncePolicy(rise: 3, fall: 2))
        #expect(!d.decide(.ready, vipCount: 1, at: 0).announce)
        #expect(!d.decide(.ready, vipCount: 1, at: 1).announce)
        let up = d.decide(.ready, vipCount: 1, at: 2)
        #expect(up.announce && up.changed && up.reason == "director ready for 3 polls in a row")
        #expect(!d.decide(.ready, vipCount: 1, at: 3).changed)
        let once = d.decide(.unreachable("no answer within 100 ms"), vipCount: 1, at: 4)
        #expect(once.announce, "one bad poll is below fall = 2")
        #expect(once.reason == "director unreachable: no answer within 100 ms (1 of 2 bad polls before withdrawing)")
        let down = d.decide(.notReady("lcore 1 made no progress for 130 ms"), vipCount: 1, at: 5)
        #expect(!down.announce && down.changed && down.reason == "director not ready: lcore 1 made no progress for 130 ms")
        // A ready poll between bad ones starts the count again.
        #expect(!d.decide(.ready, vipCount: 1, at: 6).announce)
        #expect(!d.decide(.unreachable("refused"), vipCount: 1, at: 7).announce)
        #expect(!d.decide(.ready, vipCount: 1, at: 8).announce)
        #expect(!d.decide(.ready, vipCount: 1, at: 9).announce)
        #expect(d.decide(.ready, vipCount: 1, at: 10).announce)
    }

    @Test("fall = 1 withdraws on the first unanswered poll")
    func fallOne() {
        var d = AnnounceDecider(policy: AnnouncePolicy(rise: 1, fall: 1))
        #expect(d.decide(.ready, vipCount: 2, at: 0).announce)
        let down = d.decide(.unreachable("connection refused"), vipCount: 2, at: 1)
        #expect(!down.announce && down.reason == "director unreachable: connection refused")
    }

    @Test("nothing to announce: withdrawn however ready the director is")
    func noVIPs() {
        var d = AnnounceDecider(policy: AnnouncePolicy(rise: 1, fall: 1))
        #expect(d.decide(.ready, vipCount: 1, at: 0).announce)
        let down = d.decide(.ready, vipCount: 0, at: 1)
        #expect(!down.announce && down.reason == "the forwarding table has no binds to announce")
    }

    @Test("a reload pending for longer than stale-after withdraws; a cleared one announces again")
    func stale() {
        var d = AnnounceDecider(policy: AnnouncePolicy(rise: 1, fall: 1, staleAfterNanoseconds: 30 * Self.s))
        #expect(d.decide(.ready, vipCount: 1, at: 0).announce)
        d.observe(.reloadPending(true), at: 1 * Self.s)
        #expect(d.decide(.ready, vipCount: 1, at: 31 * Self.s).announce, "exactly 30 s is not yet stale")
        let down = d.decide(.ready, vipCount: 1, at: 32 * Self.s)
        #expect(!down.announce && down.reason == "table stale: the health checker has a table reload pending for 31 s (stale after 30 s)")
        d.observe(.reloadPending(false), at: 33 * Self.s)
        #expect(d.decide(.ready, vipCount: 1, at: 33 * Self.s).announce)
        // A health checker that does not answer counts the same way.
        d.observe(.unreachable("connection refused"), at: 40 * Self.s)
        #expect(d.decide(.ready, vipCount: 1, at: 60 * Self.s).announce)
        #expect(d.staleness(at: 71 * Self.s) == "table stale: the health checker does not answer (connection refused) for 31 s (stale after 30 s)")
    }

    @Test("without a health checker to watch, a pending reload never makes the table stale")
    func unwatched() {
        var d = AnnounceDecider(policy: AnnouncePolicy(rise: 1, fall: 1))
        d.observe(.reloadPending(true), at: 0)
        #expect(d.decide(.ready, vipCount: 1, at: 1000 * Self.s).announce)
    }
}

@Suite("Announcer: reading other daemons")
struct AnnounceInputTests {
    @Test("a sample from Prometheus' text format")
    func sample() {
        let text = """
            # HELP glb_healthcheck_reload_pending 1 while a failed reload waits
            # TYPE glb_healthcheck_reload_pending gauge
            glb_healthcheck_reload_pending_other 7
            glb_healthcheck_reload_pending 1
            x{a="b c"} 2.5 1700000000000
            """
        #expect(prometheusSample("glb_healthcheck_reload_pending", in: text) == 1)
        #expect(prometheusSample("x", in: text) == 2.5)
        #expect(prometheusSample("missing", in: text) == nil)
    }

    @Test("http URLs", arguments: [
        ("http://127.0.0.1:9101/ready", "127.0.0.1", 9101, "/ready"),
        ("http://[::1]:9101/ready", "::1", 9101, "/ready"),
        ("http://localhost", "localhost", 80, "/"),
    ])
    func urls(text: String, host: String, port: Int, path: String) throws {
        let url = try #require(HTTPURL(text))
        #expect(url.host == host && url.port == port && url.path == path)
    }

    @Test("what is not an http URL", arguments: ["https://x/", "127.0.0.1:9101", "http://:80/", "http://h:0/", "http://h:x/", "http://[::1/"])
    func badURLs(text: String) {
        #expect(HTTPURL(text) == nil)
    }
}
