import GLBCore

/// SipHash-2-4 fed field by field (2, 4 or 8 bytes at a time), so the packet's fields are
/// hashed where they lie without being copied into a message buffer.
@frozen
@usableFromInline
struct SipHashStream {
    @usableFromInline var state: SipHashState
    @usableFromInline var pending: UInt64 = 0
    @usableFromInline var pendingBytes = 0
    @usableFromInline var total = 0

    @inlinable @inline(__always)
    init(state: SipHashState) {
        self.state = state
    }

    /// Appends the low `n` bytes of `value` (little-endian order = memory order); `n` ≤ 8 and
    /// the bytes above `n` must be zero.
    @inlinable @inline(__always)
    mutating func append(_ value: UInt64, bytes n: Int) {
        pending |= value &<< UInt64(truncatingIfNeeded: pendingBytes &* 8)
        let filled = pendingBytes &+ n
        total &+= n
        if filled >= 8 {
            state.compress(pending)
            let rest = filled &- 8
            pending = rest == 0 ? 0 : value &>> UInt64(truncatingIfNeeded: (n &- rest) &* 8)
            pendingBytes = rest
        } else {
            pendingBytes = filled
        }
    }

    @inlinable @inline(__always)
    func finish() -> UInt64 {
        state.finalize(lastBlock: pending | UInt64(truncatingIfNeeded: total) &<< 56)
    }
}

/// The packet hash of docs/design.md §4 for an IPv6 flow: the selected fields, each in network
/// byte order, in the order source address, destination address, source port, destination port.
/// (Out of line: its message spans up to five blocks, and the IPv4 hash, the common case, stays
/// small enough to be inlined into the burst's hash stage.)
@inlinable @inline(never)
func flowHashIPv6(state: SipHashState, fields: UInt8, src: UnsafeRawPointer, dst: UnsafeRawPointer,
                  srcPort: UInt16, dstPort: UInt16) -> UInt64 {
    var h = SipHashStream(state: state)
    if fields & PlaneView.srcAddrBit != 0 {
        h.append(src.raw64(0), bytes: 8)
        h.append(src.raw64(8), bytes: 8)
    }
    if fields & PlaneView.dstAddrBit != 0 {
        h.append(dst.raw64(0), bytes: 8)
        h.append(dst.raw64(8), bytes: 8)
    }
    if fields & PlaneView.srcPortBit != 0 { h.append(UInt64(srcPort), bytes: 2) }
    if fields & PlaneView.dstPortBit != 0 { h.append(UInt64(dstPort), bytes: 2) }
    return h.finish()
}

/// The packet hash of docs/design.md §4 for an IPv4 flow: the message the stream above would
/// take, built in two registers. It is at most 12 bytes (4 + 4 + 2 + 2), and no field crosses
/// byte 8: the addresses start at 0 or 4, so they always land in the first word; the ports, at
/// even offsets, land whole in the first word or the second. So the hash is at most one block
/// and the final block: one SipHash compression site, small enough to inline.
@inlinable @inline(__always)
func flowHashIPv4(state: SipHashState, fields: UInt8, src: UInt32, dst: UInt32, srcPort: UInt16, dstPort: UInt16) -> UInt64 {
    var first: UInt64 = 0, second: UInt64 = 0
    var length = 0
    if fields & PlaneView.srcAddrBit != 0 {
        first = UInt64(src)
        length = 4
    }
    if fields & PlaneView.dstAddrBit != 0 {
        first |= UInt64(dst) &<< UInt64(truncatingIfNeeded: length &* 8)
        length &+= 4
    }
    if fields & PlaneView.srcPortBit != 0 { appendPort(srcPort, &first, &second, &length) }
    if fields & PlaneView.dstPortBit != 0 { appendPort(dstPort, &first, &second, &length) }
    var s = state
    var last = first
    if length >= 8 {
        s.compress(first)
        last = second
    }
    return s.finalize(lastBlock: last | UInt64(truncatingIfNeeded: length) &<< 56)
}

/// Appends a port (memory order) to an IPv4 hash message at byte `length`, in whichever word
/// that byte is.
@inlinable @inline(__always)
func appendPort(_ port: UInt16, _ first: inout UInt64, _ second: inout UInt64, _ length: inout Int) {
    if length < 8 {
        first |= UInt64(port) &<< UInt64(truncatingIfNeeded: length &* 8)
    } else {
        second |= UInt64(port) &<< UInt64(truncatingIfNeeded: (length &- 8) &* 8)
    }
    length &+= 2
}
