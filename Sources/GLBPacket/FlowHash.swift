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
    init(key: SipHashKey) {
        state = SipHashState(key: key)
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

/// The packet hash of docs/design.md §4: the selected fields, each in network byte order, in the
/// order source address, destination address, source port, destination port.
@inlinable @inline(__always)
func flowHash(key: SipHashKey, fields: UInt8, ipv6: Bool, src: UnsafeRawPointer, dst: UnsafeRawPointer,
              srcPort: UInt16, dstPort: UInt16) -> UInt64 {
    var h = SipHashStream(key: key)
    if ipv6 {
        if fields & PlaneView.srcAddrBit != 0 {
            h.append(src.raw64(0), bytes: 8)
            h.append(src.raw64(8), bytes: 8)
        }
        if fields & PlaneView.dstAddrBit != 0 {
            h.append(dst.raw64(0), bytes: 8)
            h.append(dst.raw64(8), bytes: 8)
        }
    } else {
        if fields & PlaneView.srcAddrBit != 0 { h.append(UInt64(src.raw32(0)), bytes: 4) }
        if fields & PlaneView.dstAddrBit != 0 { h.append(UInt64(dst.raw32(0)), bytes: 4) }
    }
    if fields & PlaneView.srcPortBit != 0 { h.append(UInt64(srcPort), bytes: 2) }
    if fields & PlaneView.dstPortBit != 0 { h.append(UInt64(dstPort), bytes: 2) }
    return h.finish()
}
