import GLBCore
import GLBPacket

/// Runs frames through the packet path with a given table and configuration.
final class Harness {
    let table: CompiledForwardingTable
    let plane: ForwardingPlane
    let storage = CounterStorage(workers: 1)
    static let headroom = 128
    static let portMAC: [UInt8] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00]

    init(tables: [TableConfig], configure: (inout DirectorConfig) -> Void = { _ in }) throws {
        var config = DirectorConfig(outboundGatewayMAC: MACAddress("52:54:00:12:34:56")!, outboundSourceIP: IPAddress("10.255.255.1")!)
        configure(&config)
        table = RendezvousCompiler.compile(ForwardingTableConfig(tables: tables))
        plane = try ForwardingPlane(table: table, config: config)
    }

    /// A harness around a plane built elsewhere (other plane options).
    init(table: CompiledForwardingTable, plane: ForwardingPlane) {
        self.table = table
        self.plane = plane
    }

    var counters: WorkerCounters { storage.worker(0) }

    struct Output {
        var result: PacketResult
        /// The frame as it would be sent (forward, reply), or the untouched frame.
        var bytes: [UInt8]
    }

    func run(_ frame: [UInt8], headroom: Int = Harness.headroom, receivingMAC: (UInt32, UInt16)? = nil) -> Output {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: headroom + frame.count + 64, alignment: 64)
        defer { buffer.deallocate() }
        let start = buffer + headroom
        frame.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        let result = PacketProcessor.process(start, length: frame.count, headroom: headroom, plane: plane.view,
                                             portMAC: MACAddress(bytes: Harness.portMAC)!.packetWords, receivingMAC: receivingMAC, counters: counters)
        let out = result.action == .forward || result.action == .reply
            ? Array(UnsafeRawBufferPointer(start: start + result.offset, count: result.length))
            : Array(UnsafeRawBufferPointer(start: start, count: frame.count))
        return Output(result: result, bytes: out)
    }

    /// The route the table gives to a hash (independent lookup through the compiled rows).
    func route(table t: Int, hash: UInt64) -> (primary: IPAddress, secondary: IPAddress) {
        let row = table.tables[t].rows[Int(hash & 0xffff)]
        return (table.tables[t].backends[Int(row.primary)].address, table.tables[t].backends[Int(row.secondary)].address)
    }
}

/// Reads an encapsulated frame back.
struct Encapsulated {
    let bytes: [UInt8]

    func u16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
    var outerDestination: IPAddress { IPAddress(family: .ipv4, bytes: Array(bytes[30..<34]))! }
    var outerSource: IPAddress { IPAddress(family: .ipv4, bytes: Array(bytes[26..<30]))! }
    var udpSourcePort: Int { u16(34) }
    var hopCount: Int { Int(bytes[49]) }
    var hops: [IPAddress] { (0..<hopCount).map { IPAddress(family: .ipv4, bytes: Array(bytes[50 + 4 * $0..<54 + 4 * $0]))! } }
    var inner: [UInt8] { Array(bytes[(50 + 4 * hopCount)...]) }
}

enum Tables {
    static func key(_ s: String) -> SipHashKey { SipHashKey(bytes: Hex.decode(s)!) }

    static func backends(_ ips: [String], state: BackendState = .active) -> [Backend] {
        ips.map { Backend(address: IPAddress($0)!, state: state, healthy: true) }
    }

    static func bind(_ ip: String, _ proto: BindProtocol, _ start: Int, _ end: Int? = nil) -> Bind {
        let parts = ip.split(separator: "/")
        return Bind(address: IPAddress(String(parts[0]))!, prefixLength: parts.count > 1 ? Int(parts[1])! : nil, proto: proto,
                    portStart: UInt16(start), portEnd: UInt16(end ?? start))
    }

    static func table(_ binds: [Bind], _ backendIPs: [String] = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"],
                      hashKey: String = "00112233445566778899aabbccddeeff", seed: String = "ffeeddccbbaa99887766554433221100") -> TableConfig {
        TableConfig(name: nil, hashKey: key(hashKey), seed: key(seed), binds: binds, backends: backends(backendIPs))
    }
}
