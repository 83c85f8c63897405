/// Unaligned big-endian loads and stores on packet memory.
///
/// Every access goes through `loadUnaligned`/`storeBytes`, which are emitted into this module
/// even without optimisation, so AddressSanitizer instruments them in debug builds (the fuzz
/// target's); `load` would call the standard library's uninstrumented copy there.
extension UnsafeRawPointer {
    @inlinable @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        loadUnaligned(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    func be64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes as they lie in memory, in a native integer (for hashing and copying).
    @inlinable @inline(__always)
    func raw16(_ offset: Int) -> UInt16 {
        loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    func raw32(_ offset: Int) -> UInt32 {
        loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    func raw64(_ offset: Int) -> UInt64 {
        loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }
}

extension UnsafeMutableRawPointer {
    @inlinable @inline(__always)
    func put8(_ offset: Int, _ v: UInt8) {
        storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    func put16(_ offset: Int, _ v: UInt16) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    func put32(_ offset: Int, _ v: UInt32) {
        storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    func putRaw16(_ offset: Int, _ v: UInt16) {
        storeBytes(of: v, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable @inline(__always)
    func putRaw32(_ offset: Int, _ v: UInt32) {
        storeBytes(of: v, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable @inline(__always)
    func putRaw64(_ offset: Int, _ v: UInt64) {
        storeBytes(of: v, toByteOffset: offset, as: UInt64.self)
    }
}
