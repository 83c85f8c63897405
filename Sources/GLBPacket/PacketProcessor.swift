import GLBCore

/// The per-packet path of the director (docs/design.md §3, §4, §6), in four stages, each in a
/// file of its own:
///
/// 1. parse and classify (`Parse.swift`): Ethernet, IP, the transport or ICMP header, and the
///    bind the packet belongs to: a `Flow`, or why not (`ParseOutcome`);
/// 2. route (`Route.swift`): the flow's hash and its table row(s);
/// 3. encapsulate (`GUEEncapsulation.swift`, `GUEEncapsulationIPv6.swift`), or answer a
///    packet too big for the underlay (`TooBigAnswer.swift`), in place;
/// 4. count (`count` below): one outcome per packet in the worker's counters.
///
/// Everything works on raw memory with explicit bounds checks: no allocation, no locks, no
/// reference counting. A frame that is truncated or inconsistent is a counted drop; reads
/// never go past `length`.
public enum PacketProcessor {
    /// Processes one frame.
    /// - Parameters:
    ///   - frame: the first byte of the Ethernet frame.
    ///   - length: the frame's length in bytes (its bytes are all readable).
    ///   - headroom: writable bytes available in front of `frame` for the outer headers.
    ///   - plane: the forwarding state to use.
    ///   - portMAC: the MAC of the port the frame leaves on, the outer Ethernet source
    ///     (`MACAddress.packetWords`: memory order, 4 + 2 bytes).
    ///   - receivingMAC: the MAC of the port the frame came in on, for `drop_foreign_dst_mac`;
    ///     nil when it is the same port.
    ///   - counters: this worker's counters.
    /// - Returns: what to do with the frame; for `.forward` and `.reply`, where it now starts
    ///   and its length.
    @inlinable
    public static func process(_ frame: UnsafeMutableRawPointer, length: Int, headroom: Int, plane: UnsafePointer<PlaneView>,
                               portMAC: (UInt32, UInt16), receivingMAC: (UInt32, UInt16)? = nil,
                               counters: WorkerCounters) -> PacketResult {
        var flow = Flow()
        switch parse(UnsafeRawPointer(frame), length: length, plane: plane, receivingMAC: receivingMAC ?? portMAC, flow: &flow) {
        case .flow:
            let span = FrameSpan(start: frame, length: length, headroom: headroom)
            return encapsulate(span, flow: flow, route: route(flow, plane: plane), plane: plane, portMAC: portMAC, counters: counters)
        case .exception(let reason):
            counters.bump(reason)
            return PacketResult(action: .exception, offset: 0, length: length)
        case .drop(let reason):
            return drop(reason, counters)
        }
    }

    // MARK: Stage 4: count

    /// A forwarded packet: `forwarded`, its kind if it is a special one, and its table.
    @inlinable @inline(__always)
    static func countForwarded(_ flow: Flow, _ counters: WorkerCounters) {
        counters.bump(.forwarded)
        if flow.kind != .forwarded { counters.bump(flow.kind) }
        counters.bumpTable(flow.table)
    }

    @inlinable @inline(__always)
    static func drop(_ reason: Counter, _ counters: WorkerCounters) -> PacketResult {
        counters.bump(reason)
        return PacketResult(action: .drop)
    }
}

/// The frame being processed: where it starts, its length, the writable room in front of it,
/// and where its IP header starts (after Ethernet and an optional 802.1Q tag).
@frozen
@usableFromInline
struct FrameSpan {
    @usableFromInline let start: UnsafeMutableRawPointer
    @usableFromInline let length: Int
    @usableFromInline let headroom: Int

    @inlinable @inline(__always)
    init(start: UnsafeMutableRawPointer, length: Int, headroom: Int) {
        self.start = start
        self.length = length
        self.headroom = headroom
    }
}
