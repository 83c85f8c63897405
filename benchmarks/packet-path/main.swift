// Cycles and nanoseconds per packet for the director's per-packet work: parse, classify,
// hash and GUE-encapsulate, on frames held in memory, one frame at a time
// (PacketProcessor.process) and in bursts of 32 (PacketProcessor.processBurst), side by side.
//
// Each scenario builds its tables and a ring of frames laid out like receive buffers
// (FrameBatch: 128 bytes of headroom, 64-byte aligned slots). A pass processes every frame of
// the ring once; encapsulation rewrites frames in place, so before each pass every frame is
// copied back as received (and, in the cold scenarios, the frames and every table's routes are
// then evicted from the caches). That is outside the measured region: only the packet path is
// timed, with the time-stamp counter (rdtsc, fenced) and CLOCK_MONOTONIC around each pass.
// In burst mode a pass also fills the burst's arrays, as the director does from its mbufs.
// A round is many passes, alternating the two modes; the figures are the median (and best)
// over rounds.
//
// Usage: packet-path-benchmark [--rounds N] [--passes N] [--frames N] [--only TEXT]

import CCacheEvict
import CCycleCounter
import GLBCore
import GLBPacket
import GLBPacketWorkload

#if canImport(Glibc)
import Glibc
#endif

struct Scenario {
    var name: String
    var tables: [TableConfig]
    var config: DirectorConfig
    var traffic: [(FrameKind, Int)]
    var payload: ClosedRange<Int> = 0...32
    /// Before each pass, the frames and every table's routes are evicted from the caches (outside
    /// the measured region): frames as a NIC writes them without cache injection, rows as a
    /// director serving many flows and tables finds them. The other scenarios run on warm caches.
    var cold = false

    var bindCount: Int { tables.reduce(0) { $0 + $1.binds.count } }
}

let ipv4TCP: [(FrameKind, Int)] = [(.ipv4TCP, 1)]
let scenarios = [
    Scenario(name: "IPv4 TCP (common case)", tables: Workload.singleIPv4Bind(), config: Workload.config(), traffic: ipv4TCP),
    Scenario(name: "IPv4 TCP", tables: Workload.manyIPv4Binds(total: 20, tables: 4), config: Workload.config(), traffic: ipv4TCP),
    Scenario(name: "IPv4 TCP", tables: Workload.manyIPv4Binds(total: 200, tables: 4), config: Workload.config(), traffic: ipv4TCP),
    Scenario(name: "IPv6 TCP", tables: Workload.singleIPv6Bind(), config: Workload.config(), traffic: [(.ipv6TCP, 1)]),
    Scenario(name: "realistic mix", tables: Workload.mixedServices(tables: 4), config: Workload.config(), traffic: TrafficMix.realistic),
    Scenario(name: "IPv4 TCP, alt hash", tables: Workload.singleIPv4Bind(),
             config: Workload.config(hashFields: HashFields(srcAddr: true, srcPort: true), altHashFields: .sourceAddress), traffic: ipv4TCP),
    Scenario(name: "IPv4 TCP, UDP checksum", tables: Workload.singleIPv4Bind(), config: Workload.config(udpChecksum: true), traffic: ipv4TCP),
    Scenario(name: "IPv4 TCP, UDP checksum, 1514 B", tables: Workload.singleIPv4Bind(), config: Workload.config(udpChecksum: true),
             traffic: ipv4TCP, payload: 1460...1460),
    Scenario(name: "IPv4 TCP (common case), cold caches", tables: Workload.singleIPv4Bind(), config: Workload.config(),
             traffic: ipv4TCP, cold: true),
    Scenario(name: "realistic mix, cold caches", tables: Workload.mixedServices(tables: 4), config: Workload.config(),
             traffic: TrafficMix.realistic, cold: true),
]

// MARK: Options

struct Options {
    var rounds = 15
    var passes = 1000
    var frames = 1024
    var only: String?
}

func usage(_ message: String) -> Never {
    print("packet-path-benchmark: \(message)\nusage: packet-path-benchmark [--rounds N] [--passes N] [--frames N] [--only TEXT]")
    exit(2)
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        func number() -> Int {
            guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { usage("\(argument) needs a positive number") }
            return value
        }
        switch argument {
        case "--rounds": options.rounds = number()
        case "--passes": options.passes = number()
        case "--frames": options.frames = number()
        case "--only":
            guard let text = arguments.popFirst() else { usage("--only needs a text") }
            options.only = text
        default: usage("unknown argument \(argument)")
        }
    }
    return options
}

// MARK: Measurement

func monotonicNanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
}

/// One pass over the ring: the loop a worker runs on a burst, without the NIC.
/// Returns the number of frames forwarded and the total of their lengths (kept, so the
/// results are used as a worker would use them).
@inline(never)
func processAll(_ starts: UnsafeMutablePointer<UnsafeMutableRawPointer>, _ lengths: UnsafeMutablePointer<Int>, count: Int, headroom: Int,
                plane: UnsafePointer<PlaneView>, portMAC: (UInt32, UInt16), counters: WorkerCounters) -> (Int, Int) {
    var forwarded = 0
    var bytes = 0
    var i = 0
    while i < count {
        let r = PacketProcessor.process(starts[i], length: lengths[i], headroom: headroom, plane: plane, portMAC: portMAC, counters: counters)
        if r.action == .forward {
            forwarded &+= 1
            bytes &+= r.length
        }
        i &+= 1
    }
    return (forwarded, bytes)
}

/// One pass over the ring in bursts of `burst.capacity` frames: the director's loop.
@inline(never)
func processAllInBursts(_ batch: FrameBatch, burst: PacketBurst, plane: UnsafePointer<PlaneView>, portMAC: (UInt32, UInt16),
                        counters: WorkerCounters) -> (Int, Int) {
    var forwarded = 0
    var bytes = 0
    var first = 0
    while first < batch.count {
        let n = min(burst.capacity, batch.count &- first)
        batch.fill(burst, from: first, count: n)
        PacketProcessor.processBurst(burst, count: n, plane: plane, portMAC: portMAC, counters: counters)
        for j in 0..<n where burst.results[j].action == .forward {
            forwarded &+= 1
            bytes &+= burst.results[j].length
        }
        first &+= n
    }
    return (forwarded, bytes)
}

/// The director's burst size (DirectorPlan.burstSize).
let burstSize = 32

struct Figures {
    var cycles: [Double] = []
    var nanoseconds: [Double] = []
    var forwarded = 0
    var processed = 0
    var bytes = 0
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func measure(_ scenario: Scenario, _ options: Options) throws -> (single: Figures, burst: Figures) {
    let plane = try ForwardingPlane(table: RendezvousCompiler.compile(ForwardingTableConfig(tables: scenario.tables)), config: scenario.config)
    var mix = TrafficMix(tables: scenario.tables, payload: scenario.payload, seed: 0xBE7C4)
    let batch = FrameBatch(frames: mix.samples(options.frames, weights: scenario.traffic).map(\.bytes))
    let storage = CounterStorage(workers: 1)
    let counters = storage.worker(0)
    let burst = PacketBurst(capacity: burstSize)
    defer { burst.deallocate() }
    let view = plane.view
    let mac = Workload.portMACWords
    let starts = batch.starts, lengths = batch.lengths, count = batch.count, headroom = batch.headroom

    // Puts the frames back as received, then, in a cold scenario, out of the caches.
    func prepare() {
        batch.restore()
        guard scenario.cold else { return }
        glb_evict(batch.memory, batch.memoryBytes)
        for t in 0..<plane.tableCount {
            glb_evict(view.pointee.tables[t].routes, TableLimits.rowCount * MemoryLayout<UInt64>.stride)
        }
    }

    func pass(inBursts: Bool) -> (Int, Int) {
        inBursts
            ? processAllInBursts(batch, burst: burst, plane: view, portMAC: mac, counters: counters)
            : processAll(starts, lengths, count: count, headroom: headroom, plane: view, portMAC: mac, counters: counters)
    }

    var single = Figures(), inBursts = Figures()
    // Warm-up: caches, branch predictors, page faults of the table.
    for _ in 0..<max(options.passes / 10, 10) {
        for mode in [false, true] {
            prepare()
            _ = pass(inBursts: mode)
        }
    }
    for _ in 0..<options.rounds {
        for mode in [false, true] {
            var cycles: UInt64 = 0
            var nanoseconds: UInt64 = 0
            var figures = mode ? inBursts : single
            for _ in 0..<options.passes {
                prepare()
                let n0 = monotonicNanoseconds()
                let c0 = glb_cycles_begin()
                let (forwarded, bytes) = pass(inBursts: mode)
                let c1 = glb_cycles_end()
                let n1 = monotonicNanoseconds()
                cycles &+= c1 &- c0
                nanoseconds &+= n1 &- n0
                figures.forwarded &+= forwarded
                figures.bytes &+= bytes
                figures.processed &+= count
            }
            let packets = Double(options.passes * count)
            figures.cycles.append(Double(cycles) / packets)
            figures.nanoseconds.append(Double(nanoseconds) / packets)
            if mode { inBursts = figures } else { single = figures }
        }
    }
    withExtendedLifetime((plane, batch, storage)) {}
    return (single, inBursts)
}

// MARK: Report

func format(_ v: Double, _ decimals: Int = 1) -> String {
    var p = 1.0
    for _ in 0..<decimals { p *= 10 }
    let r = (v * p).rounded() / p
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    }
    return s
}

let options = parseOptions()
let hasTSC = glb_cycles_begin() != 0
print("Packet path per packet: parse + classify + hash + encapsulate, one at a time (PacketProcessor.process) "
      + "and in bursts of \(burstSize) (PacketProcessor.processBurst)")
print("\(options.frames) frames per pass, \(options.passes) passes per round and mode, \(options.rounds) rounds; median (best) of the rounds")
print("time-stamp counter: \(hasTSC ? (glb_cycle_counter_is_invariant() != 0 ? "invariant" : "not invariant: cycles are approximate") : "none (cycles not measured)")")
print("")
print("| scenario | tables | binds | cycles/packet, one at a time | in bursts | speed-up | ns/packet, one at a time | in bursts | forwarded |")
print("|---|---|---|---|---|---|---|---|---|")
var tscRates: [Double] = []
for scenario in scenarios where options.only.map({ scenario.name.contains($0) }) ?? true {
    let single: Figures, inBursts: Figures
    do {
        (single, inBursts) = try measure(scenario, options)
    } catch {
        print("packet-path-benchmark: \(scenario.name): \(error)")
        exit(1)
    }
    guard single.forwarded == inBursts.forwarded, single.bytes == inBursts.bytes else {
        print("packet-path-benchmark: \(scenario.name): the burst path forwarded \(inBursts.forwarded) frames (\(inBursts.bytes) bytes), "
              + "one at a time \(single.forwarded) (\(single.bytes) bytes)")
        exit(1)
    }
    let cycles = median(single.cycles), burstCycles = median(inBursts.cycles)
    let ns = median(single.nanoseconds), burstNs = median(inBursts.nanoseconds)
    tscRates.append(cycles / ns)
    let forwarded = 100 * Double(single.forwarded) / Double(single.processed)
    print("| \(scenario.name) | \(scenario.tables.count) | \(scenario.bindCount) "
          + "| \(format(cycles)) (\(format(single.cycles.min()!))) | \(format(burstCycles)) (\(format(inBursts.cycles.min()!))) "
          + "| \(format(ns / burstNs, 2))× "
          + "| \(format(ns, 2)) (\(format(single.nanoseconds.min()!, 2))) | \(format(burstNs, 2)) (\(format(inBursts.nanoseconds.min()!, 2))) "
          + "| \(format(forwarded))% |")
}
if hasTSC, !tscRates.isEmpty {
    print("")
    print("time-stamp counter rate: \(format(median(tscRates), 3)) GHz")
}
