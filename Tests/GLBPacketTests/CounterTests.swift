import GLBPacket
import Testing

@Suite("Worker counters")
struct CounterTests {
    @Test("every named counter and every table counter has a slot of its own")
    func slotsAreDistinct() {
        let storage = CounterStorage(workers: 2)
        let w = storage.worker(1)
        for (i, counter) in Counter.allCases.enumerated() {
            for _ in 0...i { w.bump(counter) }
        }
        for table in 0..<Counter.maxTables {
            for _ in 0..<(1000 + table) { w.bumpTable(table) }
        }
        for (i, counter) in Counter.allCases.enumerated() {
            #expect(w[counter] == UInt64(i + 1), "\(counter.name)")
            #expect(storage.total(counter) == UInt64(i + 1))
        }
        for table in 0..<Counter.maxTables {
            #expect(w.forwarded(table: table) == UInt64(1000 + table))
            #expect(storage.totalForwarded(table: table) == UInt64(1000 + table))
        }
        // Worker 0's block is untouched.
        #expect(Counter.allCases.allSatisfy { storage.worker(0)[$0] == 0 })
        #expect((0..<Counter.maxTables).allSatisfy { storage.worker(0).forwarded(table: $0) == 0 })
    }
}
