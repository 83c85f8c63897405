/// Counters of the engine around the packet path, per lcore (GLBPacket counts outcomes).
enum EngineCounter: Int, CaseIterable {
    case rxPackets
    case txPackets
    /// Encapsulated but not accepted by the tx queue: freed.
    case txDropped
    /// Unmatched packets sent up to the kernel through the exception TAP.
    case exceptionToKernel
    /// Unmatched packets with no exception path, or not accepted by the TAP: freed.
    case exceptionDropped
    /// Packets the kernel wrote to the TAP, sent out of the NIC.
    case kernelToWire
    case kernelToWireDropped
    /// Chained mbufs (the pools hold whole frames, so only a misconfigured port makes them): freed.
    case multiSegmentDropped
    /// A distributor's ring to a worker was full: freed.
    case ringFullDropped

    var name: String {
        switch self {
        case .rxPackets: return "rx_packets"
        case .txPackets: return "tx_packets"
        case .txDropped: return "tx_dropped"
        case .exceptionToKernel: return "exception_to_kernel"
        case .exceptionDropped: return "exception_dropped"
        case .kernelToWire: return "kernel_to_wire"
        case .kernelToWireDropped: return "kernel_to_wire_dropped"
        case .multiSegmentDropped: return "multi_segment_dropped"
        case .ringFullDropped: return "ring_full_dropped"
        }
    }

    /// The `reason` label of `glb_director_lcore_dropped_packets_total`; nil for counters of
    /// packets that were not dropped.
    var dropReason: String? {
        switch self {
        case .txDropped: return "tx_full"
        case .exceptionDropped: return "no_exception_path"
        case .kernelToWireDropped: return "kernel_to_wire_tx_full"
        case .multiSegmentDropped: return "multi_segment"
        case .ringFullDropped: return "ring_full"
        case .rxPackets, .txPackets, .exceptionToKernel, .kernelToWire: return nil
        }
    }

    static let dropReasons = allCases.filter { $0.dropReason != nil }
}

/// What an lcore's loop does besides moving packets, kept in the same block after the
/// packet counters.
enum LoopActivity: Int, CaseIterable {
    /// Loops finished: the lcore's heartbeat, which readiness watches.
    case loops = 12
    /// Sleeps after a run of empty polls (`idle_sleep_us`).
    case idleSleeps = 13
}

/// One lcore's engine counters (raw memory, written only by that lcore).
struct EngineCounters {
    let base: UnsafeMutablePointer<UInt64>

    @inline(__always)
    func add(_ counter: EngineCounter, _ n: Int) {
        base[counter.rawValue] &+= UInt64(truncatingIfNeeded: n)
    }

    @inline(__always)
    func note(_ activity: LoopActivity) {
        base[activity.rawValue] &+= 1
    }

    subscript(_ counter: EngineCounter) -> UInt64 { base[counter.rawValue] }
    subscript(_ activity: LoopActivity) -> UInt64 { base[activity.rawValue] }
}

/// Owns the engine counter blocks, one cache-aligned block per lcore.
final class EngineCounterStorage: @unchecked Sendable {
    let count: Int
    private let memory: UnsafeMutableRawPointer
    private static let stride = 128

    init(lcores: Int) {
        precondition(EngineCounter.allCases.count <= LoopActivity.loops.rawValue, "packet counters run into the loop activity slots")
        count = max(lcores, 1)
        memory = UnsafeMutableRawPointer.allocate(byteCount: Self.stride * count, alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Self.stride * count)
    }

    deinit { memory.deallocate() }

    func block(_ i: Int) -> EngineCounters {
        EngineCounters(base: (memory + i * Self.stride).assumingMemoryBound(to: UInt64.self))
    }
}
