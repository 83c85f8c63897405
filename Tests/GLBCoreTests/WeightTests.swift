import Foundation
@testable import GLBCore
import Testing

@Suite("Weights and transition tables")
struct WeightTests {
    static func backends(_ weights: [Int?], previous: [Int?]? = nil) -> [Backend] {
        weights.enumerated().map { i, w in
            Backend(address: IPAddress(ipv4: 0x0A00_0000 | UInt32(i + 1)), state: .active, healthy: true,
                    weight: w, previousWeight: previous?[i])
        }
    }

    static func compile(_ backends: [Backend]) -> CompiledTable {
        CompilerTests.compile(backends)
    }

    // MARK: integer arithmetic

    @Test("the log2 table is made of integers: exact ends, known entries, strictly rising")
    func logTable() {
        let t = WeightedRendezvous.log2Table
        #expect(t.count == 1025 && t[0] == 0 && t[1024] == 1 << 32)
        // ⌊2^32 · log2(1 + k/1024)⌋, within one unit of the last place.
        for (k, expected) in [(1, 6_048_148), (512, 2_512_394_809), (1023, 4_291_941_006)] as [(Int, Int64)] {
            #expect(abs(Int64(t[k]) - expected) <= 1, "entry \(k): \(t[k])")
        }
        #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("keys never decrease as scores grow, so equal weights keep GLB's order")
    func monotone() {
        var rng = SplitMix(seed: 7)
        var scores: [UInt64] = (0..<20_000).map { _ in rng.next() }
        scores += [0, 1, UInt64.max - 1, UInt64.max, 1 << 63, (1 << 63) - 1]
        // Neighbours: scores that differ in their lowest bits.
        for _ in 0..<2_000 {
            let s = rng.next() >> 1
            scores += [s, s + 1, s + 2]
        }
        scores.sort()
        let keys = WeightedRendezvous.log2Table.withUnsafeBufferPointer { t in
            scores.map { WeightedRendezvous.exponent(score: $0, table: t.baseAddress!) }
        }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(keys.first == 0 && keys.last == WeightedRendezvous.maxExponent)
        // -log2(1 - 1/2) = 1, -log2(1 - 3/4) = 2.
        WeightedRendezvous.log2Table.withUnsafeBufferPointer { t in
            #expect(WeightedRendezvous.exponent(score: 1 << 63, table: t.baseAddress!) == 1 << 32)
            #expect(WeightedRendezvous.exponent(score: 3 << 62, table: t.baseAddress!) == 2 << 32)
        }
    }

    // MARK: compatibility

    @Test("equal weights, and a transition that changes no weight, give GLB's bytes", arguments: Fixtures.compatCases())
    func glbBytes(name: String) throws {
        let expected = try #require(CompatTableTests.expectedDigests[name])
        var config = try ForwardingTableConfig.load(path: Fixtures.path("compat/tables/\(name).json")).config
        for t in config.tables.indices {
            for b in config.tables[t].backends.indices { config.tables[t].backends[b].weight = 7 }
        }
        let anyWeighted = config.tables.contains { $0.isWeighted }
        #expect(!anyWeighted)
        let equalWeights = sha256(BinaryTableFormat.encode(RendezvousCompiler.compile(config)))
        #expect(equalWeights == expected)
        // Through the weighted ranking itself: a transition table whose previous weights are
        // the current ones ranks every row by key / weight.
        for t in config.tables.indices {
            for b in config.tables[t].backends.indices { config.tables[t].backends[b].previousWeight = 7 }
        }
        let allWeighted = config.tables.allSatisfy { $0.isWeighted }
        #expect(allWeighted)
        let unchangedTransition = sha256(BinaryTableFormat.encode(RendezvousCompiler.compile(config)))
        #expect(unchangedTransition == expected)
    }

    @Test("the weighted ranking is GLB's when weights are equal, also with states and IPv6")
    func equalWeightsRows() {
        var plain = CompilerTests.active(12)
        plain[2].state = .draining
        plain[5].healthy = false
        plain[7].state = .filling
        plain[9].state = .inactive
        plain.append(Backend(address: IPAddress("2001:db8::5")!, state: .active, healthy: true))
        let transition = plain.map { var b = $0; b.weight = 3; b.previousWeight = 3; return b }
        #expect(Self.compile(transition).rows == Self.compile(plain).rows)
    }

    // MARK: the contract

    @Test("shares of primaries follow the weights", arguments: [[1, 2, 3, 4], [1, 1, 1, 10], [100, 300, 600], [65535, 1, 1000]])
    func shares(weights: [Int]) {
        let counts = Self.compile(Self.backends(weights)).rowCounts().primary
        let total = Double(weights.reduce(0, +))
        for (w, n) in zip(weights, counts) {
            let p = Double(w) / total
            let expected = p * 65536
            let sd = (65536 * p * (1 - p)).squareRoot()
            #expect(abs(Double(n) - expected) <= max(5 * sd, 3), "weight \(w): \(n) rows, expected \(expected)")
        }
    }

    @Test("raising one weight only gains rows for that backend; lowering it only loses rows")
    func minimalDisruption() {
        let before = Self.compile(Self.backends([5, 5, 5, 5, 5]))
        for (changed, weight) in [(2, 9), (2, 1), (0, 65535)] {
            var weights = [5, 5, 5, 5, 5]
            weights[changed] = weight
            let after = Self.compile(Self.backends(weights))
            for (a, b) in zip(before.rows, after.rows) where a.primary != b.primary {
                if weight > 5 {
                    #expect(b.primary == UInt32(changed), "a row moved between unchanged backends, or away from the raised one")
                    // The old primary was the best of the others: it is the new secondary.
                    #expect(b.secondary == a.primary)
                } else {
                    #expect(a.primary == UInt32(changed), "a row moved between unchanged backends, or to the lowered one")
                }
            }
            let moved = zip(before.rows, after.rows).filter { $0.primary != $1.primary }.count
            #expect(moved > 0)
        }
    }

    @Test("a transition table keeps each moved row's previous primary as its secondary, and nothing else changes")
    func transition() {
        let previous = Self.compile(Self.backends([4, 4, 4, 4]))
        let plain = Self.compile(Self.backends([4, 1, 4, 4]))
        let transition = Self.compile(Self.backends([4, 1, 4, 4], previous: [4, 4, 4, 4]))
        var moved = 0
        for i in 0..<TableLimits.rowCount {
            #expect(transition.rows[i].primary == plain.rows[i].primary)
            if plain.rows[i].primary != previous.rows[i].primary {
                moved += 1
                #expect(transition.rows[i].secondary == previous.rows[i].primary)
            } else {
                #expect(transition.rows[i] == plain.rows[i])
            }
        }
        // Backend 1 gave up about three quarters of its quarter.
        #expect(moved > 10_000)
    }

    @Test("a backend new to the table (previous weight 0) takes rows; their previous primaries stay as secondaries")
    func newBackend() {
        let previous = Self.compile(Self.backends([2, 2, 2]))
        let grown = Self.compile(Self.backends([2, 2, 2, 6], previous: [2, 2, 2, 0]))
        for i in 0..<TableLimits.rowCount where grown.rows[i].primary == 3 {
            #expect(grown.rows[i].secondary == previous.rows[i].primary)
        }
        #expect(grown.rowCounts().primary[3] > 30_000)
    }

    @Test("the same JSON compiles to the same bytes: a pinned digest of a weighted transition table")
    func pinned() throws {
        var backends = Self.backends([1, 7, 300, 65535, 12], previous: [1, 7, 0, 100, 12])
        backends.append(Backend(address: IPAddress("2001:db8::9")!, state: .draining, healthy: true, weight: 40))
        backends[1].healthy = false
        let bytes = BinaryTableFormat.encode(CompiledForwardingTable(tables: [Self.compile(backends)]))
        #expect(sha256(bytes) == "8c083a42dbe00c278e7b5f64816b731e282abf920fb59919b00de0be2663f5d3")
    }

    // MARK: the JSON keys

    @Test("weight and previous_weight are read and checked", arguments: [
        (#""weight": 0"#, "backends[0].weight: 0 is out of range (expected 1-65535)"),
        (#""weight": 65536"#, "backends[0].weight: 65536 is out of range (expected 1-65535)"),
        (#""weight": "2""#, "backends[0].weight: expected an integer from 1 to 65535, got \"2\""),
        (#""weight": 1.5"#, "backends[0].weight: expected an integer from 1 to 65535"),
        (#""previous_weight": -1"#, "backends[0].previous_weight: -1 is out of range (expected 0-65535)"),
    ])
    func keyErrors(key: String, message: String) {
        let json = #"{"tables": [{"hash_key": "00112233445566778899aabbccddeeff", "seed": "00112233445566778899aabbccddeeff", "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}], "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": true, \#(key)}, {"ip": "10.0.0.2", "state": "active", "healthy": true}]}]}"#
        let errors = TableJSON.issues(json, file: "t.json").filter { $0.severity == .error }.map(\.description)
        #expect(errors.contains { $0.contains(message) }, "\(errors)")
    }

    @Test("weights that do nothing or cannot be meant are reported")
    func keyChecks() {
        func issues(_ backends: String) -> (errors: [String], warnings: [String]) {
            let json = #"{"tables": [{"hash_key": "00112233445566778899aabbccddeeff", "seed": "00112233445566778899aabbccddeeff", "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}], "backends": [\#(backends)]}]}"#
            let r = TableJSON.issues(json, file: "t.json")
            return (r.filter { $0.severity == .error }.map(\.description), r.filter { $0.severity == .warning }.map(\.description))
        }
        let allZero = issues(#"{"ip": "10.0.0.1", "state": "active", "healthy": true, "weight": 2, "previous_weight": 0}"#)
        #expect(allZero.errors.contains { $0.contains("every backend has previous weight 0") }, "\(allZero)")
        let same = issues(#"{"ip": "10.0.0.1", "state": "active", "healthy": true, "weight": 2, "previous_weight": 2}, {"ip": "10.0.0.2", "state": "active", "healthy": true, "weight": 2}"#)
        #expect(same.errors.isEmpty && same.warnings.contains { $0.contains("no row moves") }, "\(same)")
        let mixed = issues(#"{"ip": "10.0.0.1", "state": "active", "healthy": true, "weight": 20}, {"ip": "10.0.0.2", "state": "active", "healthy": true}"#)
        #expect(mixed.warnings.contains { $0.contains("1 of 2 backends have a weight; the others weigh 1") }, "\(mixed)")
        let inactive = issues(#"{"ip": "10.0.0.1", "state": "active", "healthy": true, "weight": 2, "previous_weight": 1}, {"ip": "10.0.0.2", "state": "inactive", "healthy": true, "previous_weight": 3}"#)
        #expect(inactive.warnings.contains { $0.contains("backends[1].previous_weight: an inactive backend takes no rows") }, "\(inactive)")
    }
}
