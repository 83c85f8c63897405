import Dispatch

/// Fills a table's 65,536 rows by rendezvous hashing, exactly as GLB Director's
/// `glb-director-cli build-config` does (docs/design.md §4), but faster:
///
/// - every backend's score for row `i` is SipHash(seed, rowSeed ‖ address); the first 8 bytes
///   of that message are the same for all backends of the row, so the SipHash state after
///   them is computed once per row;
/// - only the two lowest scores matter, so they are kept while scanning instead of sorting;
/// - rows are independent, so they are computed on every core.
///
/// Tables with unequal weights, or transition tables, rank by weight
/// (`WeightedRendezvous`); with equal weights the ranking is GLB's and so are the bytes.
public enum RendezvousCompiler {
    /// Compiles every table of a source.
    public static func compile(_ config: ForwardingTableConfig) -> CompiledForwardingTable {
        CompiledForwardingTable(tables: config.tables.map(compile))
    }

    /// Compiles one table. The table must have at least one backend that is not inactive
    /// (decoding guarantees it).
    public static func compile(_ table: TableConfig) -> CompiledTable {
        let backends = table.backends.map {
            CompiledBackend(address: $0.address, state: BinaryBackendState($0.state), healthy: $0.healthy)
        }
        let candidates = Candidates(table.backends)
        precondition(candidates.count > 0, "a table needs a backend that is not inactive")

        let weighted = table.isWeighted
        let transition = table.isTransition
        let rows = [TableRow](unsafeUninitializedCapacity: TableLimits.rowCount) { buffer, count in
            let out = RowBuffer(base: buffer.baseAddress!)
            let chunk = 1024
            let chunks = TableLimits.rowCount / chunk
            candidates.withUnsafeViews { views in
                WeightedRendezvous.log2Table.withUnsafeBufferPointer { logTable in
                    let log2 = LogTable(base: logTable.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        for i in (c * chunk)..<((c + 1) * chunk) {
                            let r = weighted
                                ? weightedRow(UInt32(i), seed: table.seed, candidates: views, log2: log2.base, transition: transition)
                                : row(UInt32(i), seed: table.seed, candidates: views)
                            (out.base + i).initialize(to: r)
                        }
                    }
                }
            }
            count = TableLimits.rowCount
        }
        return CompiledTable(backends: backends, binds: table.binds, hashKey: table.hashKey, rows: rows)
    }

    /// The score of candidate `k` for a row: SipHash(seed, rowSeed ‖ address), its 8 output
    /// bytes read big-endian.
    @inline(__always)
    static func score(_ k: Int, prefixed: SipHashState, candidates c: Candidates.Views) -> UInt64 {
        let hash: UInt64
        if c.isIPv6[k] {
            var s = prefixed
            s.compress(c.block0[k])
            s.compress(c.block1[k])
            hash = s.finalize(lastBlock: 24 << 56)
        } else {
            hash = prefixed.finalize(lastBlock: c.block0[k])
        }
        return hash.byteSwapped
    }

    /// The SipHash state after a row's seed, shared by every backend's score for that row.
    @inline(__always)
    static func rowState(_ i: UInt32, seed: SipHashKey) -> SipHashState {
        let start = SipHashState(key: seed)
        // Row seed: SipHash of the row index as 4 big-endian bytes.
        let rowSeed = start.finalize(lastBlock: UInt64(i.byteSwapped) | (4 << 56))
        var prefixed = start
        prefixed.compress(rowSeed)
        return prefixed
    }

    /// GLB's rule on a row's two best candidates: a draining or unhealthy primary gives way to
    /// an active secondary. Returns candidate indexes.
    @inline(__always)
    static func applyStates(_ best: Int, _ second: Int, candidates c: Candidates.Views) -> (primary: Int, secondary: Int) {
        let primaryBad = c.isDraining[best] || !c.isHealthy[best]
        return primaryBad && c.isActive[second] ? (second, best) : (best, second)
    }

    /// One row by weighted rendezvous (`WeightedRendezvous`): the two best candidates by
    /// key / weight, then GLB's state rule. In a transition table, a row whose primary differs
    /// from the one the previous weights give keeps that previous primary as its secondary.
    @inline(__always)
    static func weightedRow(_ i: UInt32, seed: SipHashKey, candidates c: Candidates.Views, log2: UnsafePointer<UInt64>,
                            transition: Bool) -> TableRow {
        let prefixed = rowState(i, seed: seed)
        // (key, weight, score, candidate); weight 0 marks "none yet".
        typealias Ranked = (e: UInt64, w: UInt64, s: UInt64, k: Int)
        let none: Ranked = (0, 0, 0, Int.max)
        var best = none, second = none, previousBest = none, previousSecond = none
        /// Keeps the two best candidates seen so far.
        @inline(__always) func place(_ r: Ranked, _ first: inout Ranked, _ second: inout Ranked) {
            @inline(__always) func before(_ a: Ranked, _ b: Ranked) -> Bool {
                b.w == 0 || WeightedRendezvous.precedes(a.e, a.w, a.s, a.k, b.e, b.w, b.s, b.k)
            }
            if before(r, first) {
                second = first
                first = r
            } else if before(r, second) {
                second = r
            }
        }
        for k in 0..<c.count {
            let s = score(k, prefixed: prefixed, candidates: c)
            let e = WeightedRendezvous.exponent(score: s, table: log2)
            place((e, c.weight[k], s, k), &best, &second)
            if transition && c.previousWeight[k] > 0 {
                place((e, c.previousWeight[k], s, k), &previousBest, &previousSecond)
            }
        }
        if second.w == 0 { second = best }
        var (primary, secondary) = applyStates(best.k, second.k, candidates: c)
        if transition {
            if previousSecond.w == 0 { previousSecond = previousBest }
            let previous = applyStates(previousBest.k, previousSecond.k, candidates: c).primary
            if previous != primary { secondary = previous }
        }
        return TableRow(primary: c.position[primary], secondary: c.position[secondary])
    }

    /// The row for index `i`.
    @inline(__always)
    static func row(_ i: UInt32, seed: SipHashKey, candidates c: Candidates.Views) -> TableRow {
        let prefixed = rowState(i, seed: seed)
        var best = (score: UInt64.max, index: Int.max)
        var second = (score: UInt64.max, index: Int.max)
        for k in 0..<c.count {
            // Ties keep JSON order.
            let score = score(k, prefixed: prefixed, candidates: c)
            if score < best.score {
                second = best
                best = (score, k)
            } else if score < second.score {
                second = (score, k)
            }
        }
        if c.count == 1 { second = best }
        let (primary, secondary) = applyStates(best.index, second.index, candidates: c)
        return TableRow(primary: c.position[primary], secondary: c.position[secondary])
    }

    /// The backends that compete for rows (all but inactive ones), in JSON order, with their
    /// addresses pre-cut into SipHash message blocks.
    struct Candidates {
        var position: [UInt32] = []
        var isIPv6: [Bool] = []
        /// IPv4: the whole final block (address | length 12); IPv6: address bytes 0-7.
        var block0: [UInt64] = []
        /// IPv6: address bytes 8-15.
        var block1: [UInt64] = []
        var isDraining: [Bool] = []
        var isHealthy: [Bool] = []
        var isActive: [Bool] = []
        var weight: [UInt64] = []
        var previousWeight: [UInt64] = []

        var count: Int { position.count }

        init(_ backends: [Backend]) {
            for (i, b) in backends.enumerated() where b.state != .inactive {
                position.append(UInt32(i))
                let bytes = b.address.bytes
                func le64(_ from: Int, _ n: Int) -> UInt64 {
                    (0..<n).reduce(0) { $0 | UInt64(bytes[from + $1]) << (8 * UInt64($1)) }
                }
                if b.address.family == .ipv4 {
                    isIPv6.append(false)
                    block0.append(le64(0, 4) | (12 << 56))
                    block1.append(0)
                } else {
                    isIPv6.append(true)
                    block0.append(le64(0, 8))
                    block1.append(le64(8, 8))
                }
                isDraining.append(b.state == .draining)
                isHealthy.append(b.healthy)
                isActive.append(b.state == .active)
                weight.append(UInt64(b.effectiveWeight))
                previousWeight.append(UInt64(b.effectivePreviousWeight))
            }
        }

        /// Raw views for the concurrent loop (no reference counting per row).
        struct Views: @unchecked Sendable {
            let count: Int
            let position: UnsafeBufferPointer<UInt32>
            let isIPv6: UnsafeBufferPointer<Bool>
            let block0: UnsafeBufferPointer<UInt64>
            let block1: UnsafeBufferPointer<UInt64>
            let isDraining: UnsafeBufferPointer<Bool>
            let isHealthy: UnsafeBufferPointer<Bool>
            let isActive: UnsafeBufferPointer<Bool>
            let weight: UnsafeBufferPointer<UInt64>
            let previousWeight: UnsafeBufferPointer<UInt64>
        }

        func withUnsafeViews<R>(_ body: (Views) -> R) -> R {
            position.withUnsafeBufferPointer { p in
                isIPv6.withUnsafeBufferPointer { v6 in
                    block0.withUnsafeBufferPointer { b0 in
                        block1.withUnsafeBufferPointer { b1 in
                            isDraining.withUnsafeBufferPointer { d in
                                isHealthy.withUnsafeBufferPointer { h in
                                    isActive.withUnsafeBufferPointer { a in
                                        weight.withUnsafeBufferPointer { w in
                                            previousWeight.withUnsafeBufferPointer { pw in
                                                body(Views(count: count, position: p, isIPv6: v6, block0: b0, block1: b1,
                                                           isDraining: d, isHealthy: h, isActive: a, weight: w, previousWeight: pw))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The destination rows, shared by the concurrent workers (each writes its own rows).
    struct RowBuffer: @unchecked Sendable {
        let base: UnsafeMutablePointer<TableRow>
    }

    /// `WeightedRendezvous.log2Table`, shared read-only by the concurrent workers.
    struct LogTable: @unchecked Sendable {
        let base: UnsafePointer<UInt64>
    }
}
