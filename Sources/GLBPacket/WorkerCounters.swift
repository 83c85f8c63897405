import GLBCore

/// What happened to each packet, counted per worker without atomics: each worker owns its
/// block and only it writes there; readers (metrics) sum the blocks of all workers.
@frozen
public enum Counter: Int, CaseIterable, Sendable {
    // Forwarded (also counted per table).
    case forwarded
    case forwardedICMPError
    case forwardedEcho
    case forwardedFragment
    // Answered: an ICMP "fragmentation needed" or ICMPv6 "packet too big" went back instead.
    case tooBigAnswered
    // Sent to the exception path (the kernel through TAP), or dropped without one.
    case notMatched
    case notIP
    // Dropped.
    case unroutableFragment
    case foreignDestinationMAC
    case unusableRoute
    case tooBigRateLimited
    case tooBigDFClear
    case tooBigICMPError
    case tooBigToEncapsulate
    case noHeadroom
    case malformedEthernet
    case malformedIPv4Header
    case malformedIPLength
    case malformedIPv6Header
    case malformedIPv6Extension
    case malformedTransport
    case malformedICMP

    /// The metric label.
    public var name: String {
        switch self {
        case .forwarded: return "forwarded"
        case .forwardedICMPError: return "forwarded_icmp_error"
        case .forwardedEcho: return "forwarded_echo"
        case .forwardedFragment: return "forwarded_fragment"
        case .tooBigAnswered: return "too_big_answered"
        case .notMatched: return "not_matched"
        case .notIP: return "not_ip"
        case .unroutableFragment: return "unroutable_fragment"
        case .foreignDestinationMAC: return "foreign_dst_mac"
        case .unusableRoute: return "unusable_route"
        case .tooBigRateLimited: return "too_big_rate_limited"
        case .tooBigDFClear: return "too_big_df_clear"
        case .tooBigICMPError: return "too_big_icmp_error"
        case .tooBigToEncapsulate: return "too_big_to_encapsulate"
        case .noHeadroom: return "no_headroom"
        case .malformedEthernet: return "malformed_ethernet"
        case .malformedIPv4Header: return "malformed_ipv4_header"
        case .malformedIPLength: return "malformed_ip_length"
        case .malformedIPv6Header: return "malformed_ipv6_header"
        case .malformedIPv6Extension: return "malformed_ipv6_extension"
        case .malformedTransport: return "malformed_transport"
        case .malformedICMP: return "malformed_icmp"
        }
    }

    /// A detail of `forwarded` (which counts these packets too), not an outcome of its own.
    public var isForwardedDetail: Bool {
        self == .forwardedICMPError || self == .forwardedEcho || self == .forwardedFragment
    }

    /// A packet dropped as unusable: neither forwarded nor handed to the exception path.
    public var isDrop: Bool {
        self != .forwarded && !isForwardedDetail && self != .tooBigAnswered && self != .notMatched && self != .notIP
    }

    /// The most tables a director serves (bounds the per-table counters).
    public static let maxTables = TableLimits.maxTables
    /// Slots of one worker's block: the counters above, one per table, then the worker's
    /// clock and its "too big" token bucket (`WorkerCounters.takeTooBigToken`).
    public static let slotCount = allCases.count + maxTables + 3

    /// The slot of table 0's counter: the number of cases above, which are numbered from 0 in
    /// order, so the last one's number plus one. (`allCases.count` would build an array on
    /// every call in unoptimised builds: the packet path must not allocate.)
    @inlinable @inline(__always)
    static var firstTableSlot: Int { Counter.malformedICMP.rawValue &+ 1 }
}

/// One worker's counter block (raw memory; see `CounterStorage`).
@frozen
public struct WorkerCounters {
    public let base: UnsafeMutablePointer<UInt64>

    @inlinable
    public init(base: UnsafeMutablePointer<UInt64>) {
        self.base = base
    }

    @inlinable @inline(__always)
    public func bump(_ counter: Counter) {
        base[counter.rawValue] &+= 1
    }

    @inlinable @inline(__always)
    public func bumpTable(_ table: Int) {
        base[Counter.firstTableSlot &+ table] &+= 1
    }

    public subscript(_ counter: Counter) -> UInt64 { base[counter.rawValue] }

    // MARK: The clock and the "too big" token bucket

    @inlinable @inline(__always)
    static var clockSlot: Int { Counter.firstTableSlot &+ Counter.maxTables }

    /// Sets this worker's clock (nanoseconds, any monotonic origin); the loop calls it once
    /// per burst, so the packet path never reads a clock itself.
    @inlinable @inline(__always)
    public func setClock(nanoseconds: UInt64) {
        base[Self.clockSlot] = nanoseconds
    }

    /// Takes one token from this worker's bucket of `burst` tokens refilled at `rate` per
    /// second; false when it is empty. The bucket starts full (its memory starts zeroed: it
    /// stores what has been spent, in token-nanoseconds, and when it was last refilled).
    @inlinable
    public func takeTooBigToken(rate: UInt64, burst: UInt64) -> Bool {
        let token: UInt64 = 1_000_000_000
        let now = base[Self.clockSlot]
        let elapsed = now >= base[Self.clockSlot &+ 1] ? now &- base[Self.clockSlot &+ 1] : 0
        base[Self.clockSlot &+ 1] = now
        var spent = base[Self.clockSlot &+ 2]
        // Refill: `rate` token-nanoseconds per nanosecond; compared before multiplying so it cannot overflow.
        spent = elapsed >= spent / rate ? 0 : spent &- elapsed &* rate
        guard spent &+ token <= burst &* token else {
            base[Self.clockSlot &+ 2] = spent
            return false
        }
        base[Self.clockSlot &+ 2] = spent &+ token
        return true
    }

    public func forwarded(table: Int) -> UInt64 { base[Counter.firstTableSlot + table] }
}

/// Owns the counter blocks of a set of workers, each on its own cache lines.
public final class CounterStorage: @unchecked Sendable {
    public let workerCount: Int
    private let memory: UnsafeMutableRawPointer
    private static let stride = (Counter.slotCount * 8 + 63) / 64 * 64

    public init(workers: Int) {
        workerCount = workers
        memory = UnsafeMutableRawPointer.allocate(byteCount: Self.stride * max(workers, 1), alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Self.stride * max(workers, 1))
    }

    deinit { memory.deallocate() }

    public func worker(_ i: Int) -> WorkerCounters {
        precondition(i >= 0 && i < workerCount)
        return WorkerCounters(base: (memory + i * Self.stride).assumingMemoryBound(to: UInt64.self))
    }

    /// The sum of a counter over all workers.
    public func total(_ counter: Counter) -> UInt64 {
        (0..<workerCount).reduce(0) { $0 &+ worker($1)[counter] }
    }

    public func totalForwarded(table: Int) -> UInt64 {
        (0..<workerCount).reduce(0) { $0 &+ worker($1).forwarded(table: table) }
    }
}
