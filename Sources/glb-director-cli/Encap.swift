import ArgumentParser
import CPcap
import GLBCore
import GLBDirectorPlan
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

struct Encap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a capture through the director's packet path and write what it would send.",
        discussion: """
            Each frame of IN (pcap or pcapng, Ethernet) goes through exactly the code the \
            director runs: classification against the binds, hashing, GUE encapsulation. The \
            frames the director would send are written to OUT (pcap), in input order with their \
            original timestamps; frames it would not forward are left out. The counters are \
            printed at the end. Use it to see what a new table or configuration does to real \
            traffic before deploying it.
            """
    )

    @Option(name: .customLong("config-file"), help: ArgumentHelp("The director configuration (director.conf).", valueName: "file"))
    var configFile: String

    @Option(name: .customLong("forwarding-table"), help: ArgumentHelp("The forwarding table: compiled binary or JSON source.", valueName: "file"))
    var forwardingTable: String

    @Option(name: .customLong("src-mac"), help: ArgumentHelp("The MAC of the sending port (the outer Ethernet source).", valueName: "mac"))
    var sourceMAC = "02:70:63:61:70:00"

    @Argument(help: ArgumentHelp("The capture to replay.", valueName: "in"))
    var input: String

    @Argument(help: ArgumentHelp("Where to write the frames the director would send.", valueName: "out"))
    var output: String

    func run() throws {
        guard let mac = MACAddress(sourceMAC) else {
            Console.error("--src-mac: expected a MAC address like 02:70:63:61:70:00, got \"\(sourceMAC)\"")
            throw CommandFailure()
        }
        let plane: ForwardingPlane
        do {
            let loaded = try DirectorConfig.load(path: configFile)
            for warning in loaded.warnings { Console.error(warning.labeled) }
            let table = try TableInput.load(forwardingTable)
            plane = try ForwardingPlane(table: table.compiled, config: loaded.config)
        } catch {
            Console.error("\(error)")
            throw CommandFailure()
        }
        do {
            let counters = CounterStorage(workers: 1)
            guard !FileIO.isSameFile(input, output) else {
                throw InputError(message: "\(output) is the input capture \(input): writing would destroy it; choose another output")
            }
            let stats = try PcapReplay.run(input: input, output: output, plane: plane, portMAC: mac, counters: counters.worker(0))
            Console.out("\(stats.read) frames read, \(stats.written) written to \(output)")
            if let problem = stats.inputError {
                Console.error("\(input): \(problem) after frame \(stats.read); the frames before it were replayed and written")
            }
            for counter in Counter.allCases where counters.total(counter) > 0 {
                Console.out("  \(counter.name): \(counters.total(counter))")
            }
            for t in 0..<plane.tableCount where counters.totalForwarded(table: t) > 0 {
                Console.out("  forwarded by table \(t): \(counters.totalForwarded(table: t))")
            }
            if stats.inputError != nil { throw CommandFailure() }
        } catch {
            Console.error("\(error)")
            throw CommandFailure()
        }
    }
}

/// Reads a capture with libpcap, runs every frame through the packet path and writes the
/// forwarded frames to a new pcap file (atomically, as FileIO writes every output).
enum PcapReplay {
    struct Stats {
        var read = 0
        var written = 0
        /// Why reading stopped before the end of the capture (a truncated last frame).
        var inputError: String?
    }

    /// The director's mbuf headroom, so that a frame is encapsulated with the room it has there.
    static let headroom = MemoryPlan.headroom

    static func run(input: String, output: String, plane: ForwardingPlane, portMAC: MACAddress, counters: WorkerCounters) throws -> Stats {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let reader = pcap_open_offline(input, &errorBuffer) else {
            throw InputError(message: "\(input): \(String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { pcap_close(reader) }
        guard pcap_datalink(reader) == DLT_EN10MB else {
            throw InputError(message: "\(input): not an Ethernet capture (link type \(pcap_datalink(reader)))")
        }
        guard let dead = pcap_open_dead(DLT_EN10MB, 262_144) else { throw InputError(message: "libpcap: cannot open a writer") }
        defer { pcap_close(dead) }
        let macWords = portMAC.packetWords
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: headroom + 262_144, alignment: 64)
        defer { buffer.deallocate() }
        var stats = Stats()
        // Written as the frames come, through the same atomic write as the tables: a
        // temporary file beside OUT, renamed over it once complete.
        try FileIO.writeAtomically(path: output) { (fd: Int32) throws(FileError) in
            // libpcap writes through a FILE of its own, on a copy of the descriptor.
            guard let stream = fdopen(dup(fd), "w") else { throw FileError(output, "write", errno: errno) }
            guard let dumper = pcap_dump_fopen(dead, stream) else {
                fclose(stream)
                throw FileError(output, "write", String(cString: pcap_geterr(dead)))
            }
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            while true {
                let status = pcap_next_ex(reader, &header, &data)
                if status == -2 { break }
                guard status == 1, let header, let data else {
                    // A capture cut short (a copy in progress, a full disk) still holds complete
                    // frames before the cut: replay those and report the rest.
                    stats.inputError = String(cString: pcap_geterr(reader))
                    break
                }
                stats.read += 1
                let length = min(Int(header.pointee.caplen), 262_144)
                let frame = buffer + headroom
                frame.copyMemory(from: data, byteCount: length)
                let result = PacketProcessor.process(frame, length: length, headroom: headroom, plane: plane.view, portMAC: macWords, counters: counters)
                // Encapsulated packets and the answers the director would send back (ICMP "too big").
                guard result.action == .forward || result.action == .reply else { continue }
                var out = pcap_pkthdr()
                out.ts = header.pointee.ts
                out.caplen = UInt32(result.length)
                out.len = UInt32(result.length)
                pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &out, (frame + result.offset).assumingMemoryBound(to: UInt8.self))
                stats.written += 1
            }
            let flushed = pcap_dump_flush(dumper) == 0
            pcap_dump_close(dumper)
            guard flushed else { throw FileError(output, "write", errno: errno) }
        }
        return stats
    }
}
