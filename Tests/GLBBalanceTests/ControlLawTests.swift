#if canImport(Glibc)
import Glibc
#endif
import GLBBalance
import GLBCore
import Testing

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// A model of a table under load: each backend gets `load · w_i / Σw` and has `capacity_i`.
struct Plant {
    var capacity: [String: Double]
    var load: Double

    func utilization(_ weights: [String: Int]) -> [String: Double] {
        let total = Double(weights.values.reduce(0, +))
        return weights.mapValues { _ in 0 }.merging(weights.map { ($0.key, load * Double($0.value) / total / capacity[$0.key]!) }) { $1 }
    }
}

@Suite("Control law")
struct ControlLawTests {
    static func inputs(_ weights: [String: Int], _ u: [String: Double], min: Int = 10, max: Int = 1000) -> [LawInput] {
        weights.keys.sorted().map { LawInput(address: $0, weight: weights[$0]!, utilization: u[$0]!, minWeight: min, maxWeight: max) }
    }

    @Test("a slower backend loses weight until utilizations are within the dead band, then nothing moves")
    func convergence() {
        let plant = Plant(capacity: ["a": 1.0, "b": 1.0, "c": 0.25], load: 1.2)
        var weights = ["a": 100, "b": 100, "c": 100]
        let p = LawParameters()
        let initial = plant.utilization(weights)
        let initialSpread = initial.values.max()! - initial.values.min()!
        var steps = 0
        while steps < 50 {
            let outcome = ControlLaw.step(Self.inputs(weights, plant.utilization(weights)), p)
            if !outcome.changed { break }
            weights = outcome.weights
            steps += 1
        }
        let final = plant.utilization(weights)
        let mean = final.values.reduce(0, +) / 3
        #expect(final.values.allSatisfy { abs($0 - mean) <= p.deadBand }, "\(final)")
        #expect(initialSpread > 1 && steps > 1 && steps < 50)
        #expect(weights["c"]! < weights["a"]! / 2)
        // Settled: a further step changes nothing.
        #expect(!ControlLaw.step(Self.inputs(weights, final), p).changed)
    }

    @Test("inside the dead band nothing moves; just outside it, only the backends outside move")
    func deadBand() {
        var p = LawParameters()
        p.deadBand = 0.1
        let weights = ["a": 100, "b": 100, "c": 100]
        let quiet = ControlLaw.step(Self.inputs(weights, ["a": 0.50, "b": 0.59, "c": 0.41]), p)
        #expect(!quiet.changed && quiet.reason.hasPrefix("every utilization within the dead band"))
        let loud = ControlLaw.step(Self.inputs(weights, ["a": 0.50, "b": 0.70, "c": 0.30]), p)
        #expect(loud.changed && loud.weights["a"] == 100 && loud.weights["b"]! < 100 && loud.weights["c"]! > 100)
    }

    @Test("one step moves a weight by at most max_step")
    func stepLimit() {
        var p = LawParameters()
        p.maxStep = 0.2
        p.gain = 1
        let outcome = ControlLaw.step(Self.inputs(["a": 100, "b": 100], ["a": 0.05, "b": 0.95]), p)
        #expect(outcome.weights == ["a": 120, "b": 80])
    }

    @Test("weights stay within the bounds, the table's or a backend's own")
    func bounds() {
        let p = LawParameters()
        let atFloor = ControlLaw.step(Self.inputs(["a": 10, "b": 100], ["a": 0.9, "b": 0.1]), p)
        #expect(atFloor.weights["a"] == 10 && atFloor.weights["b"] == 125)
        let own = [LawInput(address: "a", weight: 100, utilization: 0.1, minWeight: 10, maxWeight: 110),
                   LawInput(address: "b", weight: 100, utilization: 0.9, minWeight: 90, maxWeight: 1000)]
        let capped = ControlLaw.step(own, p)
        #expect(capped.weights == ["a": 110, "b": 90])
        let stuck = ControlLaw.step([LawInput(address: "a", weight: 110, utilization: 0.1, minWeight: 10, maxWeight: 110),
                                     LawInput(address: "b", weight: 90, utilization: 0.9, minWeight: 90, maxWeight: 1000)], p)
        #expect(!stuck.changed && stuck.reason.contains("weight bound"))
    }
}

@Suite("Table balancer")
struct TableBalancerTests {
    static let s: UInt64 = 1_000_000_000

    static func backends(_ weights: [String: Int], unhealthy: Set<String> = []) -> [BalancedBackend] {
        weights.keys.sorted().map { BalancedBackend(address: $0, eligible: !unhealthy.contains($0), healthy: !unhealthy.contains($0), weight: weights[$0]!) }
    }

    static let skewed: [String: Double] = ["10.0.0.1": 0.2, "10.0.0.2": 0.2, "10.0.0.3": 0.8]
    static let even = ["10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.3": 100]

    @Test("missing or failed metrics freeze, and say why")
    func staleMetrics() {
        var b = TableBalancer(parameters: LawParameters(), minIntervalSeconds: 60)
        let down = b.step(Self.backends(Self.even), load: .failure(LoadError("Prometheus at http://p:9090: connection refused")), at: 0)
        #expect(down.action == .freeze && down.reason == "no load metrics: Prometheus at http://p:9090: connection refused")
        var partial = Self.skewed
        partial["10.0.0.2"] = nil
        let missing = b.step(Self.backends(Self.even), load: .success(partial), at: 1)
        #expect(missing.action == .freeze && missing.reason.hasPrefix("no load for 10.0.0.2"))
        var nan = Self.skewed
        nan["10.0.0.1"] = .nan
        #expect(b.step(Self.backends(Self.even), load: .success(nan), at: 2).action == .freeze)
        // With everything there, it acts.
        #expect(b.step(Self.backends(Self.even), load: .success(Self.skewed), at: 3).action == .change)
    }

    @Test("a health change freezes the table for the minimum interval")
    func healthChange() {
        var b = TableBalancer(parameters: LawParameters(), minIntervalSeconds: 60)
        #expect(b.step(Self.backends(Self.even), load: .success(["10.0.0.1": 0.5, "10.0.0.2": 0.5, "10.0.0.3": 0.5]), at: 0).action == .hold)
        let changed = b.step(Self.backends(Self.even, unhealthy: ["10.0.0.2"]), load: .success(Self.skewed), at: 10 * Self.s)
        #expect(changed.action == .freeze && changed.reason.hasPrefix("health changed (10.0.0.2 unhealthy)"))
        #expect(b.step(Self.backends(Self.even, unhealthy: ["10.0.0.2"]), load: .success(Self.skewed), at: 69 * Self.s).action == .freeze)
        let after = b.step(Self.backends(Self.even, unhealthy: ["10.0.0.2"]), load: .success(Self.skewed), at: 71 * Self.s)
        #expect(after.action == .change)
        // Only eligible backends move: the unhealthy one keeps its weight.
        #expect(after.changes["10.0.0.2"] == nil && after.changes["10.0.0.3"]! < 100)
    }

    @Test("an operator's change to the source freezes the table for the minimum interval")
    func sourceChange() {
        var b = TableBalancer(parameters: LawParameters(), minIntervalSeconds: 30)
        b.sourceChanged(at: 0)
        #expect(b.step(Self.backends(Self.even), load: .success(Self.skewed), at: 29 * Self.s).reason.hasPrefix("the source table changed"))
        #expect(b.step(Self.backends(Self.even), load: .success(Self.skewed), at: 31 * Self.s).action == .change)
    }

    @Test("two changes are at least the minimum interval apart")
    func minimumInterval() {
        var b = TableBalancer(parameters: LawParameters(), minIntervalSeconds: 60)
        let first = b.step(Self.backends(Self.even), load: .success(Self.skewed), at: 0)
        #expect(first.action == .change)
        let moved = Self.even.merging(first.changes) { $1 }
        let early = b.step(Self.backends(moved), load: .success(Self.skewed), at: 59 * Self.s)
        #expect(early.action == .wait && early.reason.contains("1 s more"))
        #expect(b.step(Self.backends(moved), load: .success(Self.skewed), at: 60 * Self.s).action == .change)
    }
}

@Suite("glb-balance inputs and output")
struct BalanceIOTests {
    @Test("an instant vector by label, and Prometheus' errors")
    func prometheus() throws {
        let body = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"backend":"10.0.0.1"},"value":[1.5,"0.25"]},{"metric":{"backend":"10.0.0.2"},"value":[1.5,"1"]}]}}"#
        #expect(try PrometheusQuery.vector(Array(body.utf8), label: "backend") == ["10.0.0.1": 0.25, "10.0.0.2": 1])
        #expect(throws: LoadError("a series of the result has no label instance (address_label)")) {
            try PrometheusQuery.vector(Array(body.utf8), label: "instance")
        }
        let error = #"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#
        #expect(throws: LoadError("Prometheus: bad_data: parse error at char 5")) { try PrometheusQuery.vector(Array(error.utf8), label: "backend") }
        let matrix = #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#
        #expect(throws: LoadError("the query must give an instant vector (one value per backend)")) { try PrometheusQuery.vector(Array(matrix.utf8), label: "backend") }
        #expect(PrometheusQuery.path(for: #"rate(x{a="b c"}[5s])"#) == "/api/v1/query?query=rate%28x%7Ba%3D%22b%20c%22%7D%5B5s%5D%29")
    }

    @Test("the output is the source with weights, previous_weight only on the backends that changed")
    func output() throws {
        let source = try JSONValue.parse(#"{"tables": [{"name": "web", "backends": [{"ip": "10.0.0.1", "state": "active", "previous_weight": 9}, {"ip": "10.0.0.2", "state": "draining", "x": 1}]}], "other": true}"#)
        let out = WeightedDocument.render(source, weights: [0: ["10.0.0.1": 120, "10.0.0.2": 100]], previous: [0: ["10.0.0.1": 100]])
        let expected = try JSONValue.parse(#"{"tables":[{"name":"web","backends":[{"ip":"10.0.0.1","state":"active","previous_weight":100,"weight":120},{"ip":"10.0.0.2","state":"draining","x":1,"weight":100}]}],"other":true}"#)
        #expect(out == expected)
        // Without a change to remember, previous_weight goes.
        let settled = WeightedDocument.render(source, weights: [0: ["10.0.0.1": 120, "10.0.0.2": 100]], previous: [:])
        #expect(settled["tables"]?.arrayValue?[0]["backends"]?.arrayValue?[0]["previous_weight"] == nil)
    }

    @Test("configuration errors name their key")
    func config() throws {
        func decode(_ text: String) throws(ConfigErrors) -> Loaded<BalanceConfig> {
            try BalanceConfig.decode(bytes: Array(text.utf8), file: "balance.json")
        }
        let loaded = try decode(#"{"source": "s.json", "output": "o.json", "prometheus": "http://127.0.0.1:9090", "tables": [{"table": "web", "query": "x", "gain": 0.3, "backends": {"10.0.0.1": {"max_weight": 50}}, "typo": 1}]}"#)
        let c = loaded.config
        #expect(c.tables[0].law.gain == 0.3 && c.tables[0].limits["10.0.0.1"]?.maxWeight == 50 && c.intervalSeconds == 10)
        #expect(loaded.warnings.map(\.description).contains { $0.contains("tables[0].typo: unknown key") })
        func errors(_ text: String) -> [String] {
            do { _ = try decode(text); return [] } catch { return error.errors.map(\.description) }
        }
        #expect(errors(#"{"source": "s.json", "output": "s.json", "prometheus": "http://p", "tables": [{"table": 0, "query": "x"}]}"#)
            .contains { $0.contains("output: is the source") })
        #expect(errors(#"{"source": "s.json", "output": "o.json", "prometheus": "p:9090", "tables": [{"table": 0, "query": "x"}]}"#)
            .contains { $0.contains("prometheus: expected Prometheus' URL") })
        #expect(errors(#"{"source": "s.json", "output": "o.json", "prometheus": "http://p", "tables": [{"table": 0, "query": "x", "max_step": 2}]}"#)
            .contains { $0.contains("tables[0].max_step: 2.0 is out of range") })
        #expect(errors(#"{"source": "s.json", "output": "o.json", "prometheus": "http://p", "tables": []}"#)
            .contains { $0.contains("tables: missing") })
    }

    @Test("glb-balance's file: the warnings of a valid file it loads are returned, none for a clean one")
    func loadWarnings() throws {
        var template = Array("/tmp/glb-balance-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        close(fd)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        func warnings(_ text: String) throws -> [String] {
            try FileIO.writeAtomically(path: path, bytes: Array(text.utf8))
            return try BalanceConfig.load(path: path).warnings.map { $0.field ?? "" }
        }
        let config = #"{"source": "s.json", "output": "o.json", "prometheus": "http://127.0.0.1:9090", "tables": [{"table": "web", "query": "x"}]"#
        #expect(try warnings(config + "}") == [])
        #expect(try warnings(config + #", "interval": 5}"#) == ["interval"])
    }
}
