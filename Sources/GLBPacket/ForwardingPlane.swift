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

    /// Builds the plane. Fails when the table file has more tables than the director serves,
    /// or when a table's backends need a source address director.conf lacks.
    /// `udpChecksumOffload`: every port the packets leave on computes UDP checksums, so the
    /// packet path writes only the pseudo-header's sum and asks the NIC for the rest.
    public init(table file: CompiledForwardingTable, config: DirectorConfig, udpChecksumOffload: Bool = false) throws(PlaneError) {
        guard file.tables.count <= Counter.maxTables else {
            throw PlaneError("\(file.tables.count) tables; at most \(Counter.maxTables) are supported")
        }
        var arena = PlaneArena()
        var tableViews: [TableView] = []
        for (index, table) in file.tables.enumerated() {
            let routes = table.rows.map { RouteWord.make(table.backends[Int($0.primary)].address, table.backends[Int($0.secondary)].address,
                                                         primaryIndex: $0.primary, secondaryIndex: $0.secondary) }
            let families = Set(table.backends.map(\.address.family))
            if families.contains(.ipv4) && config.outboundSourceIP == nil {
                throw PlaneError("table \(index) has IPv4 backends but director.conf has no outbound_src_ip to send to them from")
            }
            if families.contains(.ipv6) && config.outboundSourceIPv6 == nil {
                throw PlaneError("table \(index) has IPv6 backends but director.conf has no outbound_src_ipv6 to send to them from")
            }
            // Each backend's address as two raw memory words (only IPv6 routes read them).
            let addresses6: [UInt64] = table.backends.flatMap { b -> [UInt64] in
                guard b.address.family == .ipv6 else { return [0, 0] }
                return b.address.bytes.withUnsafeBytes { [$0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)] }
            }
            tableViews.append(TableView(hashKey: table.hashKey, routes: arena.copy(routes), backends6: arena.copy(addresses6.isEmpty ? [0, 0] : addresses6)))
        }
        let tables = arena.copy(tableViews.isEmpty ? [TableView(hashKey: SipHashKey(k0: 0, k1: 0), routes: arena.copy([UInt64(0)]), backends6: arena.copy([UInt64(0), 0]))] : tableViews)
        let ipv4 = buildClassifier(family: .ipv4, tables: file.tables, arena: &arena)
        let ipv6 = buildClassifier(family: .ipv6, tables: file.tables, arena: &arena)

        let source = config.outboundSourceIP?.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } ?? 0
        let sourceHost = UInt32(bigEndian: source)
        // Outer IPv4 header words that never change: 0x4500, id 0, DF, TTL 64 + UDP, source.
        let checksumBase = UInt32(0x4500) + 0x4000 + 0x4011 + (sourceHost >> 16) + (sourceHost & 0xffff)
        let source6 = config.outboundSourceIPv6?.bytes.withUnsafeBytes {
            ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        } ?? (0, 0)

        var flags: UInt8 = 0
        if config.forwardICMPPingResponses { flags |= PlaneView.forwardEcho }
        if config.udpChecksum { flags |= PlaneView.udpChecksum }
        if config.dropForeignDestinationMAC { flags |= PlaneView.dropForeignMAC }
        if config.hashesUseAddressesOnly { flags |= PlaneView.forwardFragments }
        if udpChecksumOffload { flags |= PlaneView.udpChecksumOffload }

        let view = PlaneView(
            tables: tables, ipv4: ipv4, ipv6: ipv6,
            hashFields: PlaneView.bits(config.hashFields), altHashFields: config.altHashFields.map(PlaneView.bits) ?? 0,
            flags: flags, sourceIP: source, checksumBase: checksumBase, sourceIPv6: source6,
            gatewayMAC: config.outboundGatewayMAC.packetWords,
            outerLimit: config.tunnelMTU ?? PlaneView.largestIPPacket,
            tooBigRate: UInt64(config.icmpTooBigRate), tooBigBurst: UInt64(config.icmpTooBigBurst))
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
    /// SipHash's state after the key, before any message: where every packet hash starts.
    public let hashState: SipHashState
    /// 65,536 routes (`RouteWord`).
    public let routes: UnsafePointer<UInt64>
    /// Each backend's address as two raw memory words when it is IPv6 (zeros otherwise), by
    /// position in the table: what an IPv6 route's indexes point at.
    public let backends6: UnsafePointer<UInt64>

    @usableFromInline
    init(hashKey: SipHashKey, routes: UnsafePointer<UInt64>, backends6: UnsafePointer<UInt64>) {
        self.hashKey = hashKey
        self.hashState = SipHashState(key: hashKey)
        self.routes = routes
        self.backends6 = backends6
    }
}

/// One row's route in 64 bits, so that the common case costs one load.
///
/// An IPv4 route holds the primary's address in the low 32 bits and the secondary's in the
/// high 32 bits (network-order bytes as they lie in memory), both non-zero. Any other route
/// has 0 in the low 32 bits and, in the high 32, its kind (bits 24-31) and the primary's and
/// secondary's positions in the table (bits 0-7 and 8-15; a table has at most 256 backends).
public enum RouteWord {
    /// Both backends are IPv6: sent over an IPv6 underlay.
    public static let ipv6Kind: UInt32 = 1
    /// The backends mix IPv4 and IPv6, or one has an all-zero address: no tunnel can carry it.
    public static let unusableKind: UInt32 = 2

    static func make(_ primary: IPAddress, _ secondary: IPAddress, primaryIndex: UInt32, secondaryIndex: UInt32) -> UInt64 {
        let usable = primary.family == secondary.family && !primary.bytes.allSatisfy { $0 == 0 } && !secondary.bytes.allSatisfy { $0 == 0 }
        if usable && primary.family == .ipv4 {
            let p = primary.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let s = secondary.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            return UInt64(p) | UInt64(s) << 32
        }
        let kind = usable ? ipv6Kind : unusableKind
        return UInt64(kind << 24 | (secondaryIndex & 0xff) << 8 | (primaryIndex & 0xff)) << 32
    }

    /// True for an IPv4 route (the common case: tested first).
    @inlinable @inline(__always)
    static func isIPv4(_ route: UInt64) -> Bool { UInt32(truncatingIfNeeded: route) != 0 }

    @inlinable @inline(__always)
    static func kind(_ route: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: route &>> 56) }

    @inlinable @inline(__always)
    static func primaryIndex(_ route: UInt64) -> Int { Int(truncatingIfNeeded: (route &>> 32) & 0xff) }

    @inlinable @inline(__always)
    static func secondaryIndex(_ route: UInt64) -> Int { Int(truncatingIfNeeded: (route &>> 40) & 0xff) }
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
    /// `outbound_src_ipv6`, as two raw memory words (zeros when absent).
    public let sourceIPv6: (UInt64, UInt64)
    /// `outbound_gateway_mac`, bytes as they lie in memory.
    public let gatewayMAC: (UInt32, UInt16)
    /// The IPv4 underlay's outer headers up to the hops, with every field that is the same for
    /// all packets already written.
    public let outerTemplateIPv4: OuterTemplateIPv4
    /// The largest outer IP packet sent: `tunnel_mtu`, else the largest IP packet.
    public let outerLimit: Int
    /// The token bucket of "too big" answers, per worker: tokens per second, and its size.
    public let tooBigRate: UInt64
    public let tooBigBurst: UInt64

    /// The largest IPv4 packet (and IPv6 payload without jumbograms).
    public static let largestIPPacket = 65535

    public static let srcAddrBit: UInt8 = 1
    public static let dstAddrBit: UInt8 = 2
    public static let srcPortBit: UInt8 = 4
    public static let dstPortBit: UInt8 = 8

    public static let forwardEcho: UInt8 = 1
    public static let udpChecksum: UInt8 = 2
    public static let dropForeignMAC: UInt8 = 4
    public static let forwardFragments: UInt8 = 8
    public static let udpChecksumOffload: UInt8 = 16

    static func bits(_ f: HashFields) -> UInt8 {
        (f.srcAddr ? srcAddrBit : 0) | (f.dstAddr ? dstAddrBit : 0) | (f.srcPort ? srcPortBit : 0) | (f.dstPort ? dstPortBit : 0)
    }

    @usableFromInline
    init(tables: UnsafePointer<TableView>, ipv4: ClassifierView, ipv6: ClassifierView, hashFields: UInt8,
         altHashFields: UInt8, flags: UInt8, sourceIP: UInt32, checksumBase: UInt32, sourceIPv6: (UInt64, UInt64),
         gatewayMAC: (UInt32, UInt16), outerLimit: Int, tooBigRate: UInt64, tooBigBurst: UInt64) {
        self.tables = tables
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.hashFields = hashFields
        self.altHashFields = altHashFields
        self.flags = flags
        self.sourceIP = sourceIP
        self.checksumBase = checksumBase
        self.sourceIPv6 = sourceIPv6
        self.gatewayMAC = gatewayMAC
        self.outerTemplateIPv4 = PacketProcessor.outerTemplateIPv4(gatewayMAC: gatewayMAC, sourceIP: sourceIP,
                                                                   hopCount: altHashFields != 0 ? 3 : 1)
        self.outerLimit = outerLimit
        self.tooBigRate = tooBigRate
        self.tooBigBurst = tooBigBurst
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
