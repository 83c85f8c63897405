// Table compile benchmark: SwiftGLB's rendezvous compiler against a straightforward compile
// (every SipHash score over the whole message, a full sort per row, one core), which is
// what GLB Director's C compiler does. Each measurement runs in a child process so that its
// peak memory is its own. Results go to stdout as a table; nothing here asserts a speed.
import Foundation
import GLBCore

struct Case {
    let name: String
    let tables: Int
    let backends: Int
}

let cases = [
    Case(name: "1 table x 2 backends", tables: 1, backends: 2),
    Case(name: "1 table x 16 backends", tables: 1, backends: 16),
    Case(name: "1 table x 64 backends", tables: 1, backends: 64),
    Case(name: "1 table x 256 backends", tables: 1, backends: 256),
    Case(name: "4 tables x 64 backends", tables: 4, backends: 64),
]

/// A deterministic source for a case: active, healthy IPv4 backends, distinct seeds.
func source(_ c: Case) -> ForwardingTableConfig {
    ForwardingTableConfig(tables: (0..<c.tables).map { t in
        TableConfig(
            name: "bench\(t)",
            hashKey: SipHashKey(k0: 0x1234_5678 &+ UInt64(t), k1: 0x9abc_def0),
            seed: SipHashKey(k0: 0xfeed_beef &* UInt64(t + 1), k1: 0x0bad_cafe ^ UInt64(t)),
            binds: [Bind(address: IPAddress(ipv4: 0xC000_0200 | UInt32(t)), proto: .tcp, portStart: 443, portEnd: 443)],
            backends: (0..<c.backends).map {
                Backend(address: IPAddress(ipv4: 0x0A40_0000 &+ UInt32($0) &* 2_654_435), state: .active, healthy: true)
            })
    })
}

/// GLB's algorithm as written in its C compiler.
enum StraightforwardCompiler {
    static func compile(_ table: TableConfig) -> [TableRow] {
        let competitors = table.backends.enumerated().filter { $0.element.state != .inactive }
        var rows: [TableRow] = []
        rows.reserveCapacity(TableLimits.rowCount)
        var message = [UInt8](repeating: 0, count: 24)
        var scored = [(score: UInt64, index: Int)](repeating: (0, 0), count: competitors.count)
        for i in 0..<UInt32(TableLimits.rowCount) {
            var be = i.bigEndian
            let rowSeed = withUnsafeBytes(of: &be) { SipHash.hash(key: table.seed, $0) }
            for (k, (index, backend)) in competitors.enumerated() {
                withUnsafeBytes(of: rowSeed.littleEndian) { message.replaceSubrange(0..<8, with: $0) }
                message.replaceSubrange(8..<8 + backend.address.bytes.count, with: backend.address.bytes)
                let h = message.withUnsafeBytes { SipHash.hash(key: table.seed, UnsafeRawBufferPointer(rebasing: $0[0..<8 + backend.address.bytes.count])) }
                scored[k] = (h.byteSwapped, index)
            }
            scored.sort { $0.score < $1.score }
            var first = scored[0].index, second = scored[min(1, scored.count - 1)].index
            let p = table.backends[first]
            if (p.state == .draining || !p.healthy) && table.backends[second].state == .active { swap(&first, &second) }
            rows.append(TableRow(primary: UInt32(first), secondary: UInt32(second)))
        }
        return rows
    }
}

func peakRSSKiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The case's source with a distinct weight on every backend; with `transition`, also a
/// previous weight on each (a transition table).
func weighted(_ config: ForwardingTableConfig, transition: Bool) -> ForwardingTableConfig {
    var config = config
    for t in config.tables.indices {
        for b in config.tables[t].backends.indices {
            config.tables[t].backends[b].weight = 1 + b * 37 % 1000
            if transition { config.tables[t].backends[b].previousWeight = 1 + b * 53 % 1000 }
        }
    }
    return config
}

/// Child mode: `--measure CASE-INDEX fast|straightforward|weighted|transition` prints
/// "seconds peak-KiB check".
func measure(caseIndex: Int, impl: String) {
    var config = source(cases[caseIndex])
    if impl == "weighted" || impl == "transition" { config = weighted(config, transition: impl == "transition") }
    let start = now()
    let tables: [[TableRow]]
    if impl != "straightforward" {
        tables = RendezvousCompiler.compile(config).tables.map(\.rows)
    } else {
        tables = config.tables.map(StraightforwardCompiler.compile)
    }
    let seconds = now() - start
    // Every row of every table, outside the timing: the parent compares the two compilers.
    var check: UInt64 = 0
    for rows in tables {
        for row in rows { check = check &* 1_000_003 &+ UInt64(row.primary) << 16 &+ UInt64(row.secondary) }
    }
    print("\(seconds) \(peakRSSKiB()) \(check)")
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func runChild(_ caseIndex: Int, _ impl: String) -> (seconds: Double, kib: Int, check: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    p.arguments = ["--measure", String(caseIndex), impl]
    let pipe = Pipe()
    p.standardOutput = pipe
    try! p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let parts = out.split(separator: " ")
    return (Double(parts[0])!, Int(parts[1])!, String(parts[2]).trimmingCharacters(in: .whitespacesAndNewlines))
}

let args = CommandLine.arguments
if args.count == 4 && args[1] == "--measure" {
    measure(caseIndex: Int(args[2])!, impl: args[3])
    exit(0)
}
let repetitions = args.count >= 3 && args[1] == "--repetitions" ? Int(args[2])! : 5

print("table-compile: \(repetitions) alternating runs per case, medians; \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("case                      swiftglb     straightforward  speed-up  swiftglb peak  straightforward peak")
for (index, c) in cases.enumerated() {
    var fast: [Double] = [], slow: [Double] = []
    var fastKiB = 0, slowKiB = 0
    for _ in 0..<repetitions {
        let f = runChild(index, "fast")
        let s = runChild(index, "straightforward")
        precondition(f.check == s.check, "the two compilers disagree on \(c.name)")
        fast.append(f.seconds); slow.append(s.seconds)
        fastKiB = max(fastKiB, f.kib); slowKiB = max(slowKiB, s.kib)
    }
    let mf = median(fast), ms = median(slow)
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
    print(pad(c.name, 26) + pad(String(format: "%8.1f ms", mf * 1000), 13) + pad(String(format: "%10.1f ms", ms * 1000), 17)
          + pad(String(format: "%6.1fx", ms / mf), 10) + pad(String(format: "%8.1f MiB", Double(fastKiB) / 1024), 15)
          + String(format: "%10.1f MiB", Double(slowKiB) / 1024))
}

// Weights: the same 256 backends with distinct weights, and as a transition table, against
// the unweighted compile, alternating in one run (goal: at most twice the unweighted time).
let weightCase = cases.firstIndex { $0.name == "1 table x 256 backends" }!
var plain: [Double] = [], weightedTimes: [Double] = [], transitionTimes: [Double] = []
for _ in 0..<repetitions {
    plain.append(runChild(weightCase, "fast").seconds)
    weightedTimes.append(runChild(weightCase, "weighted").seconds)
    transitionTimes.append(runChild(weightCase, "transition").seconds)
}
let mp = median(plain), mw = median(weightedTimes), mt = median(transitionTimes)
print("\nweights, 1 table x 256 backends (medians of \(repetitions)):")
print(String(format: "  unweighted %.1f ms, distinct weights %.1f ms (%.2fx), transition table %.1f ms (%.2fx)",
             mp * 1000, mw * 1000, mw / mp, mt * 1000, mt / mp))
