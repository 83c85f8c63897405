// Checks that the per-packet path allocates nothing on the heap.
//
// The C allocator's entry points are replaced (CAllocationCounter) by wrappers that count
// every call, for the whole process, Swift runtime included. Everything is set up first
// (tables, plane, frames, counters); then the allocation count is read around each of many
// PacketProcessor.process calls over a realistic mix of frames, in several configurations,
// then around each PacketProcessor.processBurst call over the same frames in bursts of 32.
// Any allocation inside process() or processBurst() is a failure, reported with the kind of
// frame (or the burst) that caused it.
//
// Usage: glb-packet-alloc-check [--packets N]   (N calls per configuration, default 100000)
// Exit status: 0 when no call allocated, 1 otherwise, 2 on a usage or set-up error.

import CAllocationCounter
import GLBCore
import GLBPacket
import GLBPacketWorkload

#if canImport(Glibc)
import Glibc
#endif

struct Variant {
    var name: String
    var tables: [TableConfig]
    var config: DirectorConfig
    var headroom: Int
    /// Counters that must move, so that the mix really reaches these paths.
    var expected: [Counter]
}

func fail(_ message: String, status: Int32) -> Never {
    print("glb-packet-alloc-check: \(message)")
    exit(status)
}

var packets = 100_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--packets":
        guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { fail("--packets needs a positive number", status: 2) }
        packets = value
    default:
        fail("unknown argument \(argument) (usage: glb-packet-alloc-check [--packets N])", status: 2)
    }
}

/// Keeps a value alive and used, so the optimiser cannot drop the allocation that made it.
@inline(never)
func consume(_ bytes: [UInt8]) -> Int {
    bytes.reduce(0) { $0 &+ Int($1) }
}

// The counter must see allocations, or a pass below would mean nothing.
let probeBefore = glb_allocation_count()
let probe = [UInt8](repeating: 1, count: 64 + CommandLine.arguments.count)
let probeAllocations = glb_allocation_count() &- probeBefore
guard consume(probe) > 0, probeAllocations > 0 else {
    fail("the allocation counter did not see an Array being allocated: the allocator is not interposed", status: 2)
}

let variants = [
    Variant(name: "4 tables, defaults", tables: Workload.mixedServices(tables: 4), config: Workload.config(), headroom: 128,
            expected: [.forwarded, .forwardedICMPError, .forwardedEcho, .forwardedFragment, .notMatched, .notIP,
                       .malformedIPv4Header, .malformedIPLength]),
    Variant(name: "4 tables, alt hash, UDP checksum, drop foreign MAC", tables: Workload.mixedServices(tables: 4),
            config: Workload.config(hashFields: HashFields(srcAddr: true, srcPort: true), altHashFields: .sourceAddress,
                                    udpChecksum: true, dropForeignDestinationMAC: true),
            headroom: 128, expected: [.forwarded, .forwardedICMPError, .forwardedEcho, .unroutableFragment, .foreignDestinationMAC]),
    Variant(name: "200 binds, no echo, too little headroom", tables: Workload.manyIPv4Binds(total: 200, tables: 4),
            config: Workload.config(forwardEcho: false), headroom: 32, expected: [.noHeadroom, .notMatched]),
]

/// The director's burst size (DirectorPlan.burstSize).
let burstSize = 32

var failed = false
for variant in variants {
    let plane: ForwardingPlane
    do {
        plane = try ForwardingPlane(table: RendezvousCompiler.compile(ForwardingTableConfig(tables: variant.tables)), config: variant.config)
    } catch {
        fail("\(variant.name): \(error)", status: 2)
    }
    var mix = TrafficMix(tables: variant.tables, seed: 0xA110C)
    let samples = mix.samples(4096, weights: TrafficMix.realistic)
    let batch = FrameBatch(frames: samples.map(\.bytes), headroom: variant.headroom)
    let storage = CounterStorage(workers: 1)
    let counters = storage.worker(0)
    let view = plane.view
    let mac = Workload.portMACWords
    let starts = batch.starts, lengths = batch.lengths, count = batch.count, headroom = batch.headroom

    // The measured loop: nothing in it may allocate.
    var inProcess: UInt64 = 0
    var firstOffender = -1
    var forwarded = 0
    let loopBefore = glb_allocation_count()
    var done = 0
    while done < packets {
        let i = done % count
        if i == 0 && done > 0 { batch.restore() }
        let before = glb_allocation_count()
        let result = PacketProcessor.process(starts[i], length: lengths[i], headroom: headroom, plane: view, portMAC: mac, counters: counters)
        let allocated = glb_allocation_count() &- before
        if allocated != 0 {
            inProcess &+= allocated
            if firstOffender < 0 { firstOffender = i }
        }
        if result.action == .forward { forwarded &+= 1 }
        done &+= 1
    }
    let inLoop = glb_allocation_count() &- loopBefore

    let outcomes = Counter.allCases.filter { counters[$0] > 0 }.map { "\($0.name) \(counters[$0])" }.joined(separator: ", ")
    print("\(variant.name): \(packets) packets, \(inProcess) allocations in process() (\(inLoop) in the whole loop); \(forwarded) forwarded")
    print("  outcomes: \(outcomes)")
    if inProcess != 0 {
        failed = true
        print("  FAIL: process() allocated; first on frame \(firstOffender) (\(samples[firstOffender].kind.rawValue))")
    }

    // The burst path over the same frames, the burst's arrays allocated once beforehand.
    let burst = PacketBurst(capacity: burstSize)
    batch.restore()
    var inBursts: UInt64 = 0
    var firstBurstOffender = -1
    done = 0
    while done < packets {
        let first = done % count
        if first == 0 && done > 0 { batch.restore() }
        let n = min(burstSize, count - first, packets - done)
        batch.fill(burst, from: first, count: n)
        let before = glb_allocation_count()
        PacketProcessor.processBurst(burst, count: n, plane: view, portMAC: mac, counters: counters)
        let allocated = glb_allocation_count() &- before
        if allocated != 0 {
            inBursts &+= allocated
            if firstBurstOffender < 0 { firstBurstOffender = first }
        }
        done &+= n
    }
    burst.deallocate()
    print("\(variant.name): \(packets) packets in bursts of \(burstSize), \(inBursts) allocations in processBurst()")
    if inBursts != 0 {
        failed = true
        print("  FAIL: processBurst() allocated; first in the burst starting at frame \(firstBurstOffender)")
    }
    let missing = variant.expected.filter { counters[$0] == 0 }
    if !missing.isEmpty {
        failed = true
        print("  FAIL: the mix never reached \(missing.map(\.name).joined(separator: ", "))")
    }
    withExtendedLifetime((plane, batch, storage)) {}
}

print(failed ? "glb-packet-alloc-check: FAILED"
      : "glb-packet-alloc-check: no allocation in \(variants.count) × \(packets) packets of PacketProcessor.process and of processBurst")
exit(failed ? 1 : 0)
