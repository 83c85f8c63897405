import GLBPacket

/// Frames laid out the way a NIC's receive buffers hold them: each in its own slot, after
/// `headroom` writable bytes, slots 64-byte aligned and packed one after the other. The packet
/// path encapsulates in place, so `restore()` puts every frame back as it was received before
/// the next pass. Everything is allocated here, once; `restore()` and the accessors allocate
/// nothing.
public final class FrameBatch {
    public let count: Int
    public let headroom: Int
    /// Each frame's first byte.
    public let starts: UnsafeMutablePointer<UnsafeMutableRawPointer>
    /// Each frame's length.
    public let lengths: UnsafeMutablePointer<Int>
    /// The slots, headroom included, one after the other.
    public let memory: UnsafeMutableRawPointer
    /// The slots' size in bytes.
    public let memoryBytes: Int
    private let pristine: UnsafeMutableRawPointer
    private let pristineStarts: UnsafeMutablePointer<UnsafeRawPointer>

    public init(frames: [[UInt8]], headroom: Int = 128) {
        precondition(!frames.isEmpty, "a batch needs frames")
        count = frames.count
        self.headroom = headroom
        let slotSizes = frames.map { (headroom + $0.count + 63) / 64 * 64 }
        let bytes = slotSizes.reduce(0, +)
        let totalBytes = frames.reduce(0) { $0 + $1.count }
        memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        memoryBytes = bytes
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pristine = UnsafeMutableRawPointer.allocate(byteCount: max(totalBytes, 1), alignment: 64)
        starts = .allocate(capacity: count)
        lengths = .allocate(capacity: count)
        pristineStarts = .allocate(capacity: count)
        var slot = 0
        var copy = 0
        for (i, frame) in frames.enumerated() {
            starts[i] = memory + slot + headroom
            lengths[i] = frame.count
            pristineStarts[i] = UnsafeRawPointer(pristine + copy)
            frame.withUnsafeBytes { raw in
                if let base = raw.baseAddress { (pristine + copy).copyMemory(from: base, byteCount: frame.count) }
            }
            slot += slotSizes[i]
            copy += frame.count
        }
        restore()
    }

    deinit {
        memory.deallocate()
        pristine.deallocate()
        starts.deallocate()
        lengths.deallocate()
        pristineStarts.deallocate()
    }

    /// Copies every frame back into its slot, as received.
    public func restore() {
        var i = 0
        while i < count {
            restore(i)
            i &+= 1
        }
    }

    /// Copies frame `i` back into its slot.
    public func restore(_ i: Int) {
        starts[i].copyMemory(from: pristineStarts[i], byteCount: lengths[i])
    }

    /// Hands frames `first..<first + n` to `burst` (n at most its capacity), as the
    /// director's loop hands over the mbufs of an rx burst.
    @inlinable @inline(__always)
    public func fill(_ burst: PacketBurst, from first: Int, count n: Int) {
        for j in 0..<n {
            burst.starts[j] = starts[first &+ j]
            burst.lengths[j] = lengths[first &+ j]
            burst.headrooms[j] = headroom
        }
    }
}
