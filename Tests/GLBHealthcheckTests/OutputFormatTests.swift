import Synchronization
import GLBCore
import Testing
@testable import GLBHealthcheck

@Suite("Metrics and the status view")
struct OutputFormatTests {
    static func snapshot() throws -> StatusSnapshot {
        let source = try Samples.decode(Samples.source(tables: [
            Samples.table(name: #"we\"b"#, backends: [
                #"{"ip": "10.0.0.1", "state": "active", "healthchecks": {"http": 80, "http_uri": "/a\\b"}}"#,
                #"{"ip": "10.0.0.2", "state": "inactive"}"#,
            ]),
        ]))
        var ledger = HealthLedger()
        let key = try #require(source.keys.first)
        let target = key.checks[0]
        let record = CheckRecord(target: target, outcome: .failed("Connection refused", after: .milliseconds(3)),
                                 at: WallTime(secondsSinceEpoch: 100))
        _ = ledger.record(key, results: [target: record], trigger: 3, at: WallTime(secondsSinceEpoch: 100))
        var s = StatusSnapshot(source: "src.json", destination: "dst.json", settings: source.settings)
        s.rounds = 1
        s.tables = source.tables.map { table in
            StatusSnapshot.TableView(index: table.index, name: table.name, backends: table.backends.map {
                StatusSnapshot.BackendView(address: $0.address, state: $0.state, checked: $0.isChecked,
                                           health: $0.key.flatMap { ledger.backends[$0] })
            })
        }
        s.checks = [StatusSnapshot.CheckView(target: target, latest: record, runs: 1, failures: 1)]
        return s
    }

    @Test("Prometheus text: families with HELP and TYPE, escaped labels, one sample per backend and check")
    func prometheus() throws {
        let text = PrometheusExposition.render(try Self.snapshot())
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"glb_healthcheck_backend_healthy{table="we\"b",backend="10.0.0.1"} 0"#))
        #expect(lines.contains(#"glb_healthcheck_backend_healthy{table="we\"b",backend="10.0.0.2"} 1"#))
        #expect(lines.contains(#"glb_healthcheck_backend_checked{table="we\"b",backend="10.0.0.2"} 0"#))
        #expect(lines.contains(#"glb_healthcheck_check_passed{backend="10.0.0.1",check="http",port="80",uri="/a\\b"} 0"#))
        #expect(lines.contains(#"glb_healthcheck_check_failures_total{backend="10.0.0.1",check="http",port="80",uri="/a\\b"} 1"#))
        #expect(lines.contains(#"glb_healthcheck_check_duration_seconds{backend="10.0.0.1",check="http",port="80",uri="/a\\b"} 0.003"#))
        #expect(lines.contains("glb_healthcheck_backend_health_since_timestamp_seconds{table=\"we\\\"b\",backend=\"10.0.0.1\"} 100"))
        #expect(lines.contains("glb_healthcheck_rounds_total 1"))
        #expect(lines.contains("glb_healthcheck_trigger_rounds 3"))
        #expect(lines.contains("glb_healthcheck_build_info{version=\"\(SwiftGLBVersion.current)\"} 1"))
        // Every sample belongs to a family declared just before it, each family once.
        var declared = Set<String>()
        var current = ""
        for line in lines {
            if line.hasPrefix("# TYPE ") {
                current = String(line.split(separator: " ")[2])
                #expect(declared.insert(current).inserted, "family \(current) declared twice")
            } else if !line.hasPrefix("#") {
                #expect(line.hasPrefix(current + "{") || line.hasPrefix(current + " "), "\(line) outside its family")
            }
        }
    }

    @Test("the JSON view: health, since, recent rounds and each check's latest result")
    func json() throws {
        let json = try Self.snapshot().json
        let backend = try #require(json["tables"].flatMap { if case .array(let t) = $0 { t.first } else { nil } })
        guard case .array(let backends)? = backend["backends"] else { Issue.record("no backends"); return }
        #expect(backends[0]["healthy"] == .bool(false))
        #expect(backends[0]["since"] == .string("1970-01-01T00:01:40.000Z"))
        #expect(backends[0]["recent_rounds"] == .array([.bool(false)]))
        guard case .array(let checks)? = backends[0]["checks"] else { Issue.record("no checks"); return }
        #expect(checks[0]["error"] == .string("Connection refused"))
        #expect(checks[0]["duration_ms"] == .number(3))
        #expect(checks[0]["uri"] == .string("/a\\b"))
        #expect(backends[1]["checked"] == .bool(false))
        #expect(backends[1]["healthy"] == .bool(true))
        #expect(backends[1]["checks"] == nil)
        #expect(json["settings"]?["trigger"] == .integer(3))
    }

    @Test("the text view lists every backend with its checks")
    func text() throws {
        let text = try Self.snapshot().text
        #expect(text.contains("10.0.0.1  active    unhealthy  http://10.0.0.1:80/a\\b FAILED (3 ms): Connection refused"))
        #expect(text.contains("10.0.0.2  inactive  healthy    not checked"))
    }
}

/// Collects log lines in tests.
final class Lines: Sendable {
    private let storage = Mutex<[String]>([])

    var all: [String] { storage.withLock { $0 } }

    @Sendable func append(_ line: String) {
        storage.withLock { $0.append(line) }
    }
}
