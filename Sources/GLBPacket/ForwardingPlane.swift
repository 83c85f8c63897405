import GLBCore

/// Everything the packet path reads, for one version of the forwarding table and director
/// configuration: per-table hash keys and routes, the bind classifiers and the encapsulation
/// constants. Built once per load; workers read it through `PlaneView` (plain pointers, no
/// reference counting), and it is freed when the last owner lets go of the `ForwardingPlane`.
public final class ForwardingPlane: @unchecked Sendable {
    /// The view workers read. Its address is stable for the plane's lifetime.
    public let view: UnsafePointer<PlaneView>
    public let tableCount: Int
    private var arena: PlaneArena

    /// Builds the plane. Fails when the table file has more tables than the director serves.
    public init(table file: CompiledForwardingTable, config: DirectorConfig) throws(PlaneError) {
        guard file.tables.count <= Counter.maxTables else {
            throw PlaneError("\(file.tables.count) tables; at most \(Counter.maxTables) are supported")
        }
        var arena = PlaneArena()
        var tableViews: [TableView] = []
        for table in file.tables {
            let addresses: [UInt32] = table.backends.map { b in
                // Network-order bytes as they lie in memory; 0 marks a backend the IPv4 hop list cannot carry.
                b.address.family == .ipv4 ? b.address.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0
            }
            let routes = table.rows.map { UInt64(addresses[Int($0.primary)]) | UInt64(addresses[Int($0.secondary)]) << 32 }
            tableViews.append(TableView(hashKey: table.hashKey, routes: arena.copy(routes)))
        }
        let tables = arena.copy(tableViews.isEmpty ? [TableView(hashKey: SipHashKey(k0: 0, k1: 0), routes: arena.copy([UInt64(0)]))] : tableViews)
        let ipv4 = buildClassifier(family: .ipv4, tables: file.tables, arena: &arena)
        let ipv6 = buildClassifier(family: .ipv6, tables: file.tables, arena: &arena)

        let source = config.outboundSourceIP.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let sourceHost = UInt32(bigEndian: source)
        // Outer IPv4 header words that never change: 0x4500, id 0, DF, TTL 64 + UDP, source.
        let checksumBase = UInt32(0x4500) + 0x4000 + 0x4011 + (sourceHost >> 16) + (sourceHost & 0xffff)

        var flags: UInt8 = 0
        if config.forwardICMPPingResponses { flags |= PlaneView.forwardEcho }
        if config.udpChecksum { flags |= PlaneView.udpChecksum }
        if config.dropForeignDestinationMAC { flags |= PlaneView.dropForeignMAC }
        if config.hashesUseAddressesOnly { flags |= PlaneView.forwardFragments }

        let view = PlaneView(
            tables: tables, ipv4: ipv4, ipv6: ipv6,
            hashFields: PlaneView.bits(config.hashFields), altHashFields: config.altHashFields.map(PlaneView.bits) ?? 0,
            flags: flags, sourceIP: source, checksumBase: checksumBase,
            gatewayMAC: config.outboundGatewayMAC.packetWords)
        self.view = arena.copy([view])
        self.tableCount = file.tables.count
        self.arena = arena
    }

    deinit {
        arena.release()
    }
}

extension MACAddress {
    /// The address as the packet path stores and compares it: its 6 bytes in memory order,
    /// as a 4-byte and a 2-byte word.
    public var packetWords: (UInt32, UInt16) {
        bytes.withUnsafeBytes { ($0.loadUnaligned(as: UInt32.self), $0.loadUnaligned(fromByteOffset: 4, as: UInt16.self)) }
    }
}

public struct PlaneError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One table as the packet path reads it.
@frozen
public struct TableView {
    public let hashKey: SipHashKey
    /// 65,536 routes: primary IPv4 address (network order, low 32 bits) and secondary (high 32 bits).
    public let routes: UnsafePointer<UInt64>

    @usableFromInline
    init(hashKey: SipHashKey, routes: UnsafePointer<UInt64>) {
        self.hashKey = hashKey
        self.routes = routes
    }
}

/// The read-only state of the packet path.
@frozen
public struct PlaneView: @unchecked Sendable {
    public let tables: UnsafePointer<TableView>
    public let ipv4: ClassifierView
    public let ipv6: ClassifierView
    /// Hash field bits (`srcAddrBit`…); `altHashFields` 0 when there is no alternate hash.
    public let hashFields: UInt8
    public let altHashFields: UInt8
    public let flags: UInt8
    /// `outbound_src_ip`, network-order bytes as they lie in memory.
    public let sourceIP: UInt32
    /// Partial IPv4 header checksum of the constant outer header words.
    public let checksumBase: UInt32
    /// `outbound_gateway_mac`, bytes as they lie in memory.
    public let gatewayMAC: (UInt32, UInt16)

    public static let srcAddrBit: UInt8 = 1
    public static let dstAddrBit: UInt8 = 2
    public static let srcPortBit: UInt8 = 4
    public static let dstPortBit: UInt8 = 8

    public static let forwardEcho: UInt8 = 1
    public static let udpChecksum: UInt8 = 2
    public static let dropForeignMAC: UInt8 = 4
    public static let forwardFragments: UInt8 = 8

    static func bits(_ f: HashFields) -> UInt8 {
        (f.srcAddr ? srcAddrBit : 0) | (f.dstAddr ? dstAddrBit : 0) | (f.srcPort ? srcPortBit : 0) | (f.dstPort ? dstPortBit : 0)
    }

    @usableFromInline
    init(tables: UnsafePointer<TableView>, ipv4: ClassifierView, ipv6: ClassifierView, hashFields: UInt8,
         altHashFields: UInt8, flags: UInt8, sourceIP: UInt32, checksumBase: UInt32, gatewayMAC: (UInt32, UInt16)) {
        self.tables = tables
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.hashFields = hashFields
        self.altHashFields = altHashFields
        self.flags = flags
        self.sourceIP = sourceIP
        self.checksumBase = checksumBase
        self.gatewayMAC = gatewayMAC
    }
}

/// Cache-aligned copies of arrays, freed together.
struct PlaneArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    mutating func copy<T>(_ values: [T]) -> UnsafePointer<T> {
        let bytes = max(MemoryLayout<T>.stride * values.count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(64, MemoryLayout<T>.alignment))
        blocks.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: values.count)
        _ = UnsafeMutableBufferPointer(start: typed, count: values.count).initialize(from: values)
        return UnsafePointer(typed)
    }

    func release() {
        for block in blocks { block.deallocate() }
    }
}
