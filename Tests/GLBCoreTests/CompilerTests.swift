import GLBCore
import Testing

@Suite("Rendezvous compiler")
struct CompilerTests {
    static func table(_ backends: [Backend], seed: UInt64 = 0x5eed) -> TableConfig {
        TableConfig(name: "t", hashKey: SipHashKey(k0: 1, k1: 2), seed: SipHashKey(k0: seed, k1: ~seed),
                    binds: [Bind(address: IPAddress("192.0.2.1")!, proto: .tcp, portStart: 80, portEnd: 80)],
                    backends: backends)
    }

    static func active(_ n: Int) -> [Backend] {
        (0..<n).map { Backend(address: IPAddress(ipv4: 0x0A00_0000 | UInt32($0 + 1)), state: .active, healthy: true) }
    }

    /// The table with the same backends all active and healthy: the "natural" ranking.
    static func natural(_ backends: [Backend]) -> CompiledTable {
        compile(backends.map { Backend(address: $0.address, state: $0.state == .inactive ? .inactive : .active, healthy: true) })
    }

    static func compile(_ backends: [Backend]) -> CompiledTable {
        RendezvousCompiler.compile(table(backends))
    }

    @Test("a draining backend keeps no primary rows while an active secondary exists, and stays secondary")
    func draining() {
        var backends = Self.active(4)
        backends[1].state = .draining
        let natural = Self.natural(backends)
        let compiled = Self.compile(backends)
        for (row, nat) in zip(compiled.rows, natural.rows) {
            if nat.primary == 1 {
                #expect(row == TableRow(primary: nat.secondary, secondary: 1))
            } else {
                #expect(row == nat)
            }
        }
        #expect(compiled.rowCounts().primary[1] == 0)
        #expect(compiled.rowCounts().secondary[1] > 0)
    }

    @Test("an unhealthy backend gives way exactly like a draining one")
    func unhealthy() {
        var draining = Self.active(5)
        draining[3].state = .draining
        var unhealthy = Self.active(5)
        unhealthy[3].healthy = false
        #expect(Self.compile(draining).rows == Self.compile(unhealthy).rows)
    }

    @Test("a bad primary keeps its rows when the secondary is not active (filling or draining)")
    func noSwapWithoutActiveSecondary() {
        let backends = [
            Backend(address: IPAddress("10.0.0.1")!, state: .draining, healthy: true),
            Backend(address: IPAddress("10.0.0.2")!, state: .filling, healthy: true),
        ]
        let compiled = Self.compile(backends)
        let natural = Self.natural(backends)
        #expect(compiled.rows == natural.rows)
        #expect(compiled.rowCounts().primary[0] > 0)
    }

    @Test("inactive backends hold no rows but keep their positions")
    func inactive() {
        var backends = Self.active(6)
        backends[2].state = .inactive
        let compiled = Self.compile(backends)
        let counts = compiled.rowCounts()
        #expect(counts.primary[2] == 0 && counts.secondary[2] == 0)
        #expect(compiled.backends[2].state == .drainingOrInactive)
        #expect(compiled.backends.count == 6)
        let without = Self.compile(backends.enumerated().filter { $0.offset != 2 }.map(\.element))
        let remap: [UInt32] = [0, 1, 3, 4, 5]
        #expect(compiled.rows == without.rows.map { TableRow(primary: remap[Int($0.primary)], secondary: remap[Int($0.secondary)]) })
    }

    @Test("a filling backend takes rows like an active one")
    func filling() {
        var backends = Self.active(3)
        backends[0].state = .filling
        #expect(Self.compile(backends).rows == Self.natural(backends).rows)
    }

    @Test("one usable backend is both primary and secondary of every row")
    func single() {
        let backends = [Backend(address: IPAddress("10.0.0.7")!, state: .inactive, healthy: true),
                        Backend(address: IPAddress("10.0.0.8")!, state: .draining, healthy: false)]
        let compiled = Self.compile(backends)
        #expect(compiled.rows.allSatisfy { $0 == TableRow(primary: 1, secondary: 1) })
    }

    @Test("IPv6 backends compete with IPv4 ones")
    func ipv6() {
        let backends = ["2001:db8::1", "10.0.0.1", "2001:db8::2", "10.0.0.2"].map {
            Backend(address: IPAddress($0)!, state: .active, healthy: true)
        }
        let table = Self.table(backends)
        let compiled = RendezvousCompiler.compile(table)
        for i in stride(from: 0, to: TableLimits.rowCount, by: 97) {
            #expect(compiled.rows[i] == PlainCompiler.row(i, table))
        }
        #expect(compiled.rowCounts().primary.allSatisfy { $0 > 10000 })
    }

    @Test("primaries spread binomially; each primary's secondaries spread over the others", arguments: [2, 16, 64, 256])
    func distribution(n: Int) {
        let compiled = Self.compile(Self.active(n))
        let rows = Double(TableLimits.rowCount)
        let p = 1 / Double(n)
        let sigma = (rows * p * (1 - p)).squareRoot()
        let counts = compiled.rowCounts()
        for (i, count) in counts.primary.enumerated() {
            #expect(abs(Double(count) - rows * p) <= 5 * sigma, "backend \(i): \(count) primary rows, expected \(rows * p) ± \(5 * sigma)")
        }
        for (i, count) in counts.secondary.enumerated() {
            #expect(abs(Double(count) - rows * p) <= 5 * sigma, "backend \(i): \(count) secondary rows, expected \(rows * p) ± \(5 * sigma)")
        }
        var pairs = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        for row in compiled.rows {
            #expect(row.primary != row.secondary)
            pairs[Int(row.primary)][Int(row.secondary)] += 1
        }
        // For each primary, its rows' secondaries should be uniform over the n - 1 others:
        // Pearson's chi-square with n - 2 degrees of freedom (mean n - 2, variance 2(n - 2)).
        for primary in 0..<n where n > 2 {
            let expected = Double(counts.primary[primary]) / Double(n - 1)
            var chiSquare = 0.0
            for secondary in 0..<n where secondary != primary {
                let d = Double(pairs[primary][secondary]) - expected
                chiSquare += d * d / expected
            }
            let dof = Double(n - 2)
            #expect(abs(chiSquare - dof) <= 5 * (2 * dof).squareRoot(), "primary \(primary): chi-square \(chiSquare) with \(dof) degrees of freedom")
        }
    }

    @Test("adding a backend only moves rows to the new backend, keeping the old primary as secondary")
    func minimalDisruption() {
        let before = Self.compile(Self.active(10))
        let after = Self.compile(Self.active(11))
        for (old, new) in zip(before.rows, after.rows) where old.primary != new.primary {
            #expect(new.primary == 10)
            #expect(new.secondary == old.primary)
        }
    }
}
