import GLBCore
import Testing

@Suite("Table diff")
struct TableDiffTests {
    static let base = CompilerTests.active(8)

    @Test("draining a backend moves its primary rows, all kept by second chance")
    func drain() {
        var drained = Self.base
        drained[3].state = .draining
        let old = CompilerTests.compile(Self.base), new = CompilerTests.compile(drained)
        let diff = TableDiff(old: old, new: new)
        let held = old.rowCounts().primary[3]
        #expect(diff.primaryChanged == held)
        #expect(diff.savedBySecondChance == held)
        #expect(diff.broken == 0)
        #expect(diff.backends[3].oldPrimaryRows == held && diff.backends[3].newPrimaryRows == 0)
        #expect(diff.backends[3].new?.state == .drainingOrInactive)
    }

    @Test("removing a backend breaks exactly the flows it was primary for")
    func remove() {
        let old = CompilerTests.compile(Self.base)
        let new = CompilerTests.compile(Array(Self.base.dropLast()))
        let diff = TableDiff(old: old, new: new)
        #expect(diff.broken == old.rowCounts().primary[7])
        #expect(diff.savedBySecondChance == 0)
        #expect(diff.backends[7].new == nil)
    }

    @Test("adding a backend breaks nothing")
    func add() {
        let old = CompilerTests.compile(Self.base)
        let new = CompilerTests.compile(CompilerTests.active(9))
        let diff = TableDiff(old: old, new: new)
        #expect(diff.broken == 0)
        #expect(diff.primaryChanged == new.rowCounts().primary[8])
        #expect(diff.savedBySecondChance == diff.primaryChanged)
        #expect(diff.backends.count == 9 && diff.backends[8].old == nil)
    }

    @Test("a new hash key moves every flow: the diff gives expectations, not row counts")
    func hashKey() {
        let old = CompilerTests.compile(Self.base)
        var new = old
        new.hashKey = SipHashKey(k0: 99, k1: 98)
        let diff = TableDiff(old: old, new: new)
        #expect(diff.hashKeyChanged)
        // Same rows, new key: with 8 equal backends a flow keeps its primary 1/8 of the time and
        // finds it in its new row's secondary slot another 1/8 of the time.
        #expect(abs(Double(diff.primaryChanged) - 65536 * 7 / 8) < 600)
        #expect(abs(Double(diff.broken) - 65536 * 6 / 8) < 600)
        // The 1/8 that finds its old primary as the new secondary.
        #expect(abs(Double(diff.savedBySecondChance) - 65536 / 8) < 600)
        #expect(!TableDiff(old: old, new: old).hashKeyChanged)
    }

    @Test("reordering backends is not a change")
    func reorder() {
        let old = CompilerTests.compile(Self.base)
        let new = CompilerTests.compile(Self.base.reversed())
        let diff = TableDiff(old: old, new: new)
        #expect(diff.primaryChanged == 0 && diff.secondaryChanged == 0 && diff.broken == 0)
    }
}
