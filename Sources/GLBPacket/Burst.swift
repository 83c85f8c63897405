import CPrefetch
import GLBCore

/// The frames of one burst and the packet path's working space for them: arrays of
/// `capacity` entries, allocated once per loop and reused for every burst.
///
/// The caller fills `starts`, `lengths` and `headrooms` for frames `0..<count`;
/// `PacketProcessor.processBurst` writes `results`.
@frozen
public struct PacketBurst: @unchecked Sendable {
    public let capacity: Int
    /// Where each frame starts; its length in bytes (all readable); the writable bytes in
    /// front of it.
    public let starts: UnsafeMutablePointer<UnsafeMutableRawPointer>
    public let lengths: UnsafeMutablePointer<Int>
    public let headrooms: UnsafeMutablePointer<Int>
    /// What to do with each frame, as `PacketProcessor.process` would have returned it.
    public let results: UnsafeMutablePointer<PacketResult>
    /// Stage 1's output: each frame's flow, or why it has none.
    @usableFromInline let flows: UnsafeMutablePointer<Flow>
    @usableFromInline let outcomes: UnsafeMutablePointer<ParseOutcome>
    /// Stage 2's output: each flow's hash and alternate hash.
    @usableFromInline let hashes: UnsafeMutablePointer<UInt64>
    @usableFromInline let altHashes: UnsafeMutablePointer<UInt64>

    public init(capacity: Int) {
        precondition(capacity > 0, "a burst holds at least one frame")
        self.capacity = capacity
        starts = .allocate(capacity: capacity)
        starts.initialize(repeating: UnsafeMutableRawPointer(bitPattern: 1)!, count: capacity)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        headrooms = .allocate(capacity: capacity)
        headrooms.initialize(repeating: 0, count: capacity)
        results = .allocate(capacity: capacity)
        results.initialize(repeating: PacketResult(action: .drop), count: capacity)
        flows = .allocate(capacity: capacity)
        flows.initialize(repeating: Flow(), count: capacity)
        outcomes = .allocate(capacity: capacity)
        outcomes.initialize(repeating: .drop(.malformedEthernet), count: capacity)
        hashes = .allocate(capacity: capacity)
        hashes.initialize(repeating: 0, count: capacity)
        altHashes = .allocate(capacity: capacity)
        altHashes.initialize(repeating: 0, count: capacity)
    }

    /// Frees the arrays; the burst is not used afterwards.
    public func deallocate() {
        starts.deallocate()
        lengths.deallocate()
        headrooms.deallocate()
        results.deallocate()
        flows.deallocate()
        outcomes.deallocate()
        hashes.deallocate()
        altHashes.deallocate()
    }
}

extension PacketProcessor {
    /// The packet path over a burst: the stages of `process`, each run over the whole burst
    /// before the next, so that the memory each stage waits for is requested a stage ahead
    /// and the independent work of many packets overlaps in the CPU:
    ///
    /// 0. prefetch every frame's first cache line (the headers stage 1 reads);
    /// 1. parse and classify every frame (`Parse.swift`);
    /// 2. hash every flow and prefetch the table row(s) its hashes pick (`Route.swift`);
    /// 3. frame by frame, in order: read the row(s), encapsulate or answer, count.
    ///
    /// Results, counters and bytes written are exactly those of `process` called on each
    /// frame in order: the "too big" token bucket, the only state one packet leaves for the
    /// next, is consumed in stage 3, in order. Frames must not overlap in memory (parsing all
    /// of them before writing any relies on it). The parameters other than the burst are those
    /// of `process`, shared by the whole burst.
    @inlinable
    public static func processBurst(_ burst: PacketBurst, count: Int, plane: UnsafePointer<PlaneView>, portMAC: (UInt32, UInt16),
                                    receivingMAC: (UInt32, UInt16)? = nil, counters: WorkerCounters) {
        precondition(count <= burst.capacity, "a burst of \(count) frames in room for \(burst.capacity)")
        let rxMAC = receivingMAC ?? portMAC

        // Stage 0: the headers of the whole burst on their way.
        for i in 0..<count { glb_prefetch_read(burst.starts[i]) }

        // Stage 1: parse and classify.
        for i in 0..<count {
            burst.outcomes[i] = parse(UnsafeRawPointer(burst.starts[i]), length: burst.lengths[i], plane: plane,
                                      receivingMAC: rxMAC, flow: &burst.flows[i])
        }

        // Stage 2: hashes, and the rows they pick on their way.
        let hasAlternate = plane.pointee.altHashFields != 0
        for i in 0..<count {
            guard case .flow = burst.outcomes[i] else { continue }
            let table = plane.pointee.tables + burst.flows[i].table
            let h = hashes(burst.flows + i, table: table, plane: plane)
            burst.hashes[i] = h.hash
            burst.altHashes[i] = h.alternate
            let routes = table.pointee.routes
            glb_prefetch_read(routes + row(h.hash))
            if hasAlternate { glb_prefetch_read(routes + row(h.alternate)) }
        }

        // Stage 3: rows, headers and counters, in order.
        for i in 0..<count {
            switch burst.outcomes[i] {
            case .flow:
                let routes = plane.pointee.tables[burst.flows[i].table].routes
                let r = route(hash: burst.hashes[i], altHash: burst.altHashes[i], hasAlternate: hasAlternate, routes: routes)
                let span = FrameSpan(start: burst.starts[i], length: burst.lengths[i], headroom: burst.headrooms[i])
                burst.results[i] = encapsulate(span, flow: burst.flows[i], route: r, plane: plane, portMAC: portMAC, counters: counters)
            case .exception(let reason):
                counters.bump(reason)
                burst.results[i] = PacketResult(action: .exception, offset: 0, length: burst.lengths[i])
            case .drop(let reason):
                burst.results[i] = drop(reason, counters)
            }
        }
    }
}
