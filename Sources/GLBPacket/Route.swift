import GLBCore

/// Stage 2 of the packet path: the flow's hash (docs/design.md §4) and the table row(s) it
/// picks, with the alternate hash's when `alt_hash_fields` is set.
@frozen
@usableFromInline
struct Route {
    /// The packet hash: its low 16 bits picked the row; it also feeds the UDP source port.
    @usableFromInline let hash: UInt64
    /// The row's `RouteWord`, and the alternate hash's (0 without one).
    @usableFromInline let main: UInt64
    @usableFromInline let alternate: UInt64
    /// Whether there is an alternate route (`alt_hash_fields`). (A flag rather than the hop
    /// count keeps the value small enough to come back in registers.)
    @usableFromInline let hasAlternate: Bool

    @inlinable @inline(__always)
    init(hash: UInt64, main: UInt64, alternate: UInt64, hasAlternate: Bool) {
        self.hash = hash
        self.main = main
        self.alternate = alternate
        self.hasAlternate = hasAlternate
    }

    /// Hops listed after the first: the secondary, or S1, P2 and S2 with an alternate hash.
    @inlinable @inline(__always)
    var hopCount: Int { hasAlternate ? 3 : 1 }

    /// True when every backend of the route is IPv4 (the common case, tested first).
    @inlinable @inline(__always)
    var isIPv4: Bool { RouteWord.isIPv4(main) && (!hasAlternate || RouteWord.isIPv4(alternate)) }
}

/// A flow's packet hash, and its alternate hash (0 without `alt_hash_fields`).
/// (A struct, not a tuple: `route(_:plane:)` returns it through `withUnsafePointer`, and where
/// that generic is not specialised, as in a debug build, a tuple's type metadata would be
/// made on the heap by the runtime the first time a packet needs it. A struct's is static.)
@frozen
@usableFromInline
struct FlowHashes {
    @usableFromInline let hash: UInt64
    @usableFromInline let alternate: UInt64

    @inlinable @inline(__always)
    init(hash: UInt64, alternate: UInt64) {
        self.hash = hash
        self.alternate = alternate
    }
}

extension PacketProcessor {
    /// The row index of a hash: its low 16 bits.
    @usableFromInline static let rowMask: UInt64 = 0xffff

    @inlinable @inline(__always)
    static func row(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash & rowMask) }

    /// The flow's route: its hashes, then the rows they pick.
    @inlinable @inline(__always)
    static func route(_ flow: Flow, plane: UnsafePointer<PlaneView>) -> Route {
        let table = plane.pointee.tables + flow.table
        let h = withUnsafePointer(to: flow) { hashes($0, table: table, plane: plane) }
        return route(hash: h.hash, altHash: h.alternate, hasAlternate: plane.pointee.altHashFields != 0, routes: table.pointee.routes)
    }

    /// The flow's packet hash and alternate hash.
    /// (Through pointers, so the burst path's flows are read where they are, not copied.)
    @inlinable @inline(__always)
    static func hashes(_ flow: UnsafePointer<Flow>, table: UnsafePointer<TableView>, plane: UnsafePointer<PlaneView>) -> FlowHashes {
        let src = flow.pointee.src, dst = flow.pointee.dst
        let srcPort = flow.pointee.srcPort, dstPort = flow.pointee.dstPort
        let fields = plane.pointee.hashFields, altFields = plane.pointee.altHashFields
        let state = table.pointee.hashState
        if flow.pointee.isIPv6 {
            let hash = flowHashIPv6(state: state, fields: fields, src: src, dst: dst, srcPort: srcPort, dstPort: dstPort)
            guard altFields != 0 else { return FlowHashes(hash: hash, alternate: 0) }
            return FlowHashes(hash: hash, alternate: flowHashIPv6(state: state, fields: altFields, src: src, dst: dst,
                                                                   srcPort: srcPort, dstPort: dstPort))
        }
        let src4 = src.raw32(0), dst4 = dst.raw32(0)
        let hash = flowHashIPv4(state: state, fields: fields, src: src4, dst: dst4, srcPort: srcPort, dstPort: dstPort)
        guard altFields != 0 else { return FlowHashes(hash: hash, alternate: 0) }
        return FlowHashes(hash: hash, alternate: alternateHashIPv4(state: state, fields: altFields, src: src4, dst: dst4,
                                                                    srcPort: srcPort, dstPort: dstPort))
    }

    /// The alternate hash of an IPv4 flow (`alt_hash_fields`, used while hash fields change):
    /// out of line, so that the common hash stage keeps a single inlined SipHash.
    @inlinable @inline(never)
    static func alternateHashIPv4(state: SipHashState, fields: UInt8, src: UInt32, dst: UInt32, srcPort: UInt16, dstPort: UInt16) -> UInt64 {
        flowHashIPv4(state: state, fields: fields, src: src, dst: dst, srcPort: srcPort, dstPort: dstPort)
    }

    /// The route of hashes already computed: the rows they pick in `routes`.
    @inlinable @inline(__always)
    static func route(hash: UInt64, altHash: UInt64, hasAlternate: Bool, routes: UnsafePointer<UInt64>) -> Route {
        guard hasAlternate else { return Route(hash: hash, main: routes[row(hash)], alternate: 0, hasAlternate: false) }
        return Route(hash: hash, main: routes[row(hash)], alternate: routes[row(altHash)], hasAlternate: true)
    }
}
