import Foundation
import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Source table")
struct SourceTableTests {
    @Test("GLB's schema: top-level settings, per-backend checks in kind order, http_uri defaulting to /")
    func glbSchema() throws {
        let loaded = try Samples.loaded(Samples.source(
            healthchecks: #"{"interval_ms": 4000, "timeout_ms": 2000, "trigger": 4}"#,
            tables: [Samples.table(backends: [
                #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"gue": 19523, "http": 80, "http_uri": "/health"}}"#,
                #"{"ip": "10.0.0.2", "state": "draining", "healthchecks": {"tcp": 443}}"#,
                #"{"ip": "10.0.0.3", "state": "filling", "healthchecks": {"http": 8080}}"#,
            ])]))
        let source = loaded.config
        #expect(source.settings == CheckSettings(interval: .milliseconds(4000), timeout: .milliseconds(2000), trigger: 4))
        #expect(loaded.warnings.isEmpty)
        let backends = source.tables[0].backends
        #expect(backends[0].checks == [
            CheckTarget(kind: .http, address: Samples.ip("10.0.0.1"), port: 80, uri: "/health"),
            CheckTarget(kind: .gue, address: Samples.ip("10.0.0.1"), port: 19523),
        ])
        #expect(backends[1].checks == [CheckTarget(kind: .tcp, address: Samples.ip("10.0.0.2"), port: 443)])
        #expect(backends[2].checks.first?.uri == "/")
        #expect(backends.map(\.state) == [.active, .draining, .filling])
        #expect(backends.allSatisfy { $0.isChecked })
    }

    @Test("without a healthchecks block, or with zeros, GLB's defaults apply: 2 s, 1 s, 3")
    func defaults() throws {
        let backend = #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"tcp": 22}}"#
        let none = try Samples.decode(Samples.source(tables: [Samples.table(backends: [backend])]))
        #expect(none.settings == CheckSettings(interval: .seconds(2), timeout: .seconds(1), trigger: 3))
        let zeros = try Samples.decode(Samples.source(
            healthchecks: #"{"interval_ms": 0, "timeout_ms": 0, "trigger": 0}"#, tables: [Samples.table(backends: [backend])]))
        #expect(zeros.settings == none.settings)
        let partial = try Samples.decode(Samples.source(
            healthchecks: #"{"trigger": 1}"#, tables: [Samples.table(backends: [backend])]))
        #expect(partial.settings == CheckSettings(interval: .seconds(2), timeout: .seconds(1), trigger: 1))
    }

    @Test("inactive backends and backends without checks are not checked")
    func unchecked() throws {
        let source = try Samples.decode(Samples.source(tables: [Samples.table(backends: [
            #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80}}"#,
            #"{"ip": "10.0.0.2", "state": "inactive", "healthchecks": {"http": 80}}"#,
            #"{"ip": "10.0.0.3", "state": "active"}"#,
            #"{"ip": "10.0.0.4", "state": "active", "healthchecks": {}}"#,
            #"{"ip": "10.0.0.5", "state": "active", "healthchecks": null}"#,
        ])]))
        #expect(source.tables[0].backends.map(\.isChecked) == [true, false, false, false, false])
        #expect(source.keys.count == 1)
        #expect(source.targets == [CheckTarget(kind: .http, address: Samples.ip("10.0.0.1"), port: 80)])
    }

    @Test("a backend in two tables with the same checks is one key and one set of targets")
    func sharedBackends() throws {
        let shared = #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80, "gue": 19523}}"#
        let source = try Samples.decode(Samples.source(tables: [
            Samples.table(name: "a", backends: [shared]),
            Samples.table(name: nil, backends: [shared, #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 81}}"#.replacingIP("10.0.0.2")]),
        ]))
        #expect(source.targets.count == 3)
        #expect(source.keys.count == 2)
        let key = try #require(source.tables[0].backends[0].key)
        #expect(source.tableLabels(of: key) == ["a", "1"])
    }

    @Test("errors name the file, the table and the key", arguments: [
        (#"{"http": "80"}"#, #"src.json: table 0 (web): backends[0].healthchecks.http: expected a port number 1-65535, got "80""#),
        (#"{"tcp": 0}"#, "src.json: table 0 (web): backends[0].healthchecks.tcp: expected a port number 1-65535, got 0"),
        (#"{"gue": 70000}"#, "src.json: table 0 (web): backends[0].healthchecks.gue: expected a port number 1-65535, got 70000"),
        (#"{"http": 80.5}"#, "src.json: table 0 (web): backends[0].healthchecks.http: expected a port number 1-65535, got 80.5"),
        (#"{"http": 80, "http_uri": "health"}"#,
         #"src.json: table 0 (web): backends[0].healthchecks.http_uri: expected a path starting with "/" (such as "/health"), got "health""#),
        (#"{"http": 80, "http_uri": "/a b"}"#,
         #"src.json: table 0 (web): backends[0].healthchecks.http_uri: "/a b" contains spaces, control or non-ASCII characters: percent-encode them"#),
        (#"{"http": 80, "http_uri": 5}"#,
         #"src.json: table 0 (web): backends[0].healthchecks.http_uri: expected a path such as "/health", got 5"#),
        (#"[80]"#,
         #"src.json: table 0 (web): backends[0].healthchecks: expected an object such as {"http": 80, "gue": 19523}, got an array"#),
    ])
    func checkErrors(checks: String, expected: String) {
        let text = Samples.source(tables: [Samples.table(backends: [#"{"ip": "10.0.0.1", "state": "active", "healthchecks": \#(checks)}"#])])
        #expect(Samples.errors(text) == [expected])
    }

    @Test("settings errors name the key", arguments: [
        (#"{"interval_ms": "2000"}"#,
         #"src.json: healthchecks.interval_ms: expected a whole number of milliseconds (0 for the default), got "2000""#),
        (#"{"timeout_ms": -1}"#,
         "src.json: healthchecks.timeout_ms: -1 is out of range (expected 0 for the default, or 1-86400000 milliseconds)"),
        (#"{"trigger": 1.5}"#, "src.json: healthchecks.trigger: expected a whole number of rounds (0 for the default), got 1.5"),
        (#"{"trigger": 100000}"#, "src.json: healthchecks.trigger: 100000 is out of range (expected 0 for the default, or 1-1000 rounds)"),
        ("true", "src.json: healthchecks: expected an object with interval_ms, timeout_ms and trigger, got a boolean"),
    ])
    func settingsErrors(block: String, expected: String) {
        let text = Samples.source(healthchecks: block, tables: [Samples.table(backends: [#"{"ip": "10.0.0.1", "state": "active"}"#])])
        #expect(Samples.errors(text) == [expected])
    }

    @Test("the table part is checked as the compiler checks it, healthy or not")
    func tableErrors() {
        let badKey = Samples.source(tables: [Samples.table(backends: [#"{"ip": "10.0.0.1", "state": "active"}"#])])
            .replacingOccurrences(of: Samples.hashKey, with: "0011")
        #expect(Samples.errors(badKey).first?.hasPrefix("src.json: table 0 (web): hash_key: expected 32 hexadecimal digits") == true)
        #expect(Samples.errors(Samples.source(tables: [Samples.table(backends: [#"{"ip": "10.0.0.1", "state": "resting"}"#])]))
            == ["src.json: table 0 (web): backends[0].state: expected one of active, draining, filling, inactive, got \"resting\""])
        #expect(Samples.errors("{}") == [#"src.json: tables: missing: the file must contain a "tables" array listing each forwarding table"#])
        #expect(Samples.errors("[1, 2]") == [#"src.json: expected a JSON object with a "tables" array, got an array"#])
        #expect(Samples.errors("{\"tables\": [}").first?.hasPrefix("src.json: invalid JSON at line 1, column 13") == true)
        // Every error at once, from both parts.
        let both = Samples.source(healthchecks: #"{"trigger": "3"}"#, tables: [Samples.table(backends: [
            #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": -1}}"#, #"{"ip": "nope", "state": "active"}"#,
        ])])
        #expect(Samples.errors(both).count == 2)  // the checks are read once the table part is valid
    }

    @Test("a source without healthy fields gives no warnings about them; other warnings are kept")
    func warnings() throws {
        let loaded = try Samples.loaded(Samples.source(
            healthchecks: #"{"interval_ms": 100, "timeout_ms": 500, "retries": 2}"#,
            tables: [Samples.table(backends: [
                #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http_uri": "/x", "smtp": 25}}"#,
            ], extra: #", "healthchecks": {"trigger": 5}"#)]))
        #expect(Set(loaded.warnings.compactMap(\.field)) == [
            "healthchecks.retries", "healthchecks.timeout_ms", "healthchecks", "backends[0].healthchecks.smtp",
            "backends[0].healthchecks.http_uri",
        ])
        #expect(loaded.warnings.allSatisfy { $0.severity == .warning })
        #expect(loaded.config.tables[0].backends[0].checks.isEmpty)
    }

    @Test("a GUE check on an IPv6 backend is accepted as it is (the IPv6 underlay)")
    func ipv6Tunnel() throws {
        let loaded = try Samples.loaded(Samples.source(tables: [Samples.table(backends: [
            #"{"ip": "2001:db8::1", "state": "active", "healthchecks": {"http": 80, "gue": 19523}}"#,
        ])]))
        #expect(!loaded.warnings.contains { $0.field?.contains("healthchecks") == true })
        #expect(loaded.config.targets.map(\.description) == ["http://[2001:db8::1]:80/", "gue [2001:db8::1]:19523"])
    }

    @Test("a FOU check on an IPv6 backend is an error that names the way out")
    func ipv6Fou() {
        let text = Samples.source(tables: [Samples.table(backends: [
            #"{"ip": "2001:db8::1", "state": "active", "healthchecks": {"http": 80, "fou": 19523}}"#,
        ])])
        #expect(Samples.errors(text) == [
            #"src.json: table 0 (web): backends[0].healthchecks.fou: fou carries IPv4 only: use "gue" to check an IPv6 backend"#,
        ])
    }

    @Test("a missing file is an error naming it")
    func missingFile() {
        do {
            _ = try SourceTable.load(path: "/nonexistent/src.json")
            Issue.record("loaded a file that does not exist")
        } catch {
            #expect(error.errors.map(\.description) == ["/nonexistent/src.json: cannot open: No such file or directory"])
        }
    }
}

extension String {
    func replacingIP(_ address: String) -> String {
        replacingOccurrences(of: "10.0.0.1", with: address)
    }
}
