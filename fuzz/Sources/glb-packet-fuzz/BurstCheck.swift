// The burst path (PacketProcessor.processBurst) against the single-packet path, on every
// input: the input's frame joins a burst of companion frames, seeds of fuzz/corpus chosen so
// that one burst holds every outcome (forwarded over IPv4 and IPv6 routes, unusable routes,
// "too big" answered and rate-limited, exceptions, drops, too little headroom). The burst runs
// once through processBurst and once frame by frame through process, each frame in its own
// exactly sized allocation, on two fresh counter blocks; results, every byte of every buffer
// and every counter must agree. Everything is rebuilt for each input, so a saved crash
// reproduces from its one input.

import GLBCore
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

enum BurstCheck {
    /// Seeds of fuzz/corpus (made by fuzz/make-corpus) in every burst; the "too big" frames
    /// are there five times so that table set 1's bucket of four answers runs out.
    static let companionSeeds = [
        "ipv4-tcp-443", "ipv6-tcp-443", "tables1-route-ipv6", "tables1-route-mixed", "tables1-too-big-ipv4-df",
        "ipv4-unmatched-port", "tables1-too-big-ipv6", "arp", "icmpv4-frag-needed", "tables1-too-big-ipv4-df",
        "short-ethernet", "headroom-too-small", "tables1-too-big-ipv6", "ipv4-truncated", "tables1-too-big-ipv4-no-df",
        "tables1-too-big-ipv4-df", "drop-foreign-other-mac",
    ]

    struct Frame {
        var bytes: [UInt8]
        var headroom: Int
    }

    static let companions: [Frame] = companionSeeds.map { name in
        let path = "\(seedFolder)/\(name).bin"
        guard let data = readFile(path) else {
            fatalError("glb-packet-fuzz: the burst check needs the seed \(path) (fuzz/make-corpus writes it)")
        }
        return data.withUnsafeBytes { raw in
            guard let input = FuzzInput(raw), input.frameLength > 0 else { fatalError("glb-packet-fuzz: \(path) holds no frame") }
            var bytes = [UInt8](repeating: 0, count: input.frameLength)
            bytes.withUnsafeMutableBytes { input.write(to: $0.baseAddress!) }
            return Frame(bytes: bytes, headroom: input.headroom)
        }
    }

    /// fuzz/corpus, found from this source file's path (the fuzzer runs where it was built),
    /// or GLB_FUZZ_CORPUS.
    static let seedFolder: String = {
        if let env = getenv("GLB_FUZZ_CORPUS") { return String(cString: env) }
        // …/fuzz/Sources/glb-packet-fuzz/BurstCheck.swift → …/fuzz/corpus
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/corpus"
    }()

    /// Runs the burst both ways and stops the process if they disagree. `frame` is the input's
    /// frame as received; it goes into the burst at a position its length picks.
    static func check(frame: UnsafeRawBufferPointer, headroom: Int, plane: ForwardingPlane, clock: UInt64) {
        var frames = companions
        frames.insert(Frame(bytes: Array(frame), headroom: headroom), at: frame.count % (frames.count + 1))

        let single = Buffers(frames), inBurst = Buffers(frames)
        defer {
            single.deallocate()
            inBurst.deallocate()
        }
        let storage = CounterStorage(workers: 2)
        let one = storage.worker(0), burstCounters = storage.worker(1)
        one.setClock(nanoseconds: clock)
        burstCounters.setClock(nanoseconds: clock)

        let expected = frames.indices.map { i in
            PacketProcessor.process(single.starts[i], length: frames[i].bytes.count, headroom: frames[i].headroom, plane: plane.view,
                                    portMAC: Planes.portMACWords, counters: one)
        }
        let burst = PacketBurst(capacity: frames.count)
        defer { burst.deallocate() }
        for i in frames.indices {
            burst.starts[i] = inBurst.starts[i]
            burst.lengths[i] = frames[i].bytes.count
            burst.headrooms[i] = frames[i].headroom
        }
        PacketProcessor.processBurst(burst, count: frames.count, plane: plane.view, portMAC: Planes.portMACWords, counters: burstCounters)

        for i in frames.indices {
            let got = burst.results[i]
            guard got == expected[i] else { fail("frame \(i) of the burst: \(got), one by one \(expected[i])", frames) }
            guard single.bytes(i) == inBurst.bytes(i) else { fail("frame \(i) of the burst: its buffer differs from one by one", frames) }
        }
        for slot in 0..<Counter.slotCount where one.base[slot] != burstCounters.base[slot] {
            fail("counter slot \(slot): \(burstCounters.base[slot]) in the burst, \(one.base[slot]) one by one", frames)
        }
    }

    static func fail(_ what: String, _ frames: [Frame]) -> Never {
        print("glb-packet-fuzz: the burst path disagrees with the single-packet path: \(what)")
        for (i, f) in frames.enumerated() {
            print("  frame \(i), headroom \(f.headroom): \(Hex.string(f.bytes))")
        }
        abort()
    }

    /// Each frame in an allocation of exactly headroom + frame bytes (AddressSanitizer sees
    /// any access outside it), the headroom filled with the invariants' pattern.
    struct Buffers {
        let buffers: [UnsafeMutableRawPointer]
        let sizes: [Int]
        let starts: [UnsafeMutableRawPointer]

        init(_ frames: [Frame]) {
            let sizes = frames.map { max($0.headroom + $0.bytes.count, 1) }
            let buffers = sizes.map { UnsafeMutableRawPointer.allocate(byteCount: $0, alignment: 1) }
            let starts = frames.indices.map { buffers[$0] + frames[$0].headroom }
            for (i, f) in frames.enumerated() {
                buffers[i].initializeMemory(as: UInt8.self, repeating: Invariants.headroomPattern, count: f.headroom)
                f.bytes.withUnsafeBytes { if let base = $0.baseAddress { starts[i].copyMemory(from: base, byteCount: f.bytes.count) } }
            }
            self.sizes = sizes
            self.buffers = buffers
            self.starts = starts
        }

        func bytes(_ i: Int) -> [UInt8] { Array(UnsafeRawBufferPointer(start: buffers[i], count: sizes[i])) }

        func deallocate() { buffers.forEach { $0.deallocate() } }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return ferror(f) == 0 ? bytes : nil
    }
}
