/// SipHash-2-4 (Aumasson & Bernstein), the hash GLB Director uses both to build
/// forwarding tables and to pick a row for each packet.
///
/// The 64-bit result is the value whose little-endian bytes are SipHash's 8 output
/// bytes. The type is `@frozen` and its functions `@inlinable` so that the packet path
/// in other modules inlines them; every operation is wrapping arithmetic on registers.
@frozen
public struct SipHashKey: Hashable, Sendable {
    public var k0: UInt64
    public var k1: UInt64

    @inlinable
    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// A key from its 16 bytes, as they appear in GLB's `hash_key`/`seed` hex strings.
    @inlinable
    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        precondition(bytes.count == 16, "a SipHash key is 16 bytes")
        var words: [UInt64] = [0, 0]
        for (i, b) in bytes.enumerated() {
            words[i / 8] |= UInt64(b) << UInt64(8 * (i % 8))
        }
        let k0 = words[0], k1 = words[1]
        self.init(k0: k0, k1: k1)
    }

    /// The 16 key bytes (inverse of `init(bytes:)`).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [k0, k1] {
            for shift in stride(from: UInt64(0), to: 64, by: 8) {
                out.append(UInt8(truncatingIfNeeded: word >> shift))
            }
        }
        return out
    }
}

/// The SipHash state: four 64-bit words. Exposed so that callers hashing many messages
/// with a common prefix (the table compiler) can compress the prefix once.
@frozen
public struct SipHashState: Sendable {
    public var v0: UInt64
    public var v1: UInt64
    public var v2: UInt64
    public var v3: UInt64

    @inlinable @inline(__always)
    public init(key: SipHashKey) {
        v0 = key.k0 ^ 0x736f_6d65_7073_6575
        v1 = key.k1 ^ 0x646f_7261_6e64_6f6d
        v2 = key.k0 ^ 0x6c79_6765_6e65_7261
        v3 = key.k1 ^ 0x7465_6462_7974_6573
    }

    @inlinable @inline(__always)
    mutating func round() {
        v0 = v0 &+ v1; v1 = (v1 << 13) | (v1 >> 51); v1 ^= v0; v0 = (v0 << 32) | (v0 >> 32)
        v2 = v2 &+ v3; v3 = (v3 << 16) | (v3 >> 48); v3 ^= v2
        v0 = v0 &+ v3; v3 = (v3 << 21) | (v3 >> 43); v3 ^= v0
        v2 = v2 &+ v1; v1 = (v1 << 17) | (v1 >> 47); v1 ^= v2; v2 = (v2 << 32) | (v2 >> 32)
    }

    /// Absorbs one 8-byte message block (read little-endian), with SipHash-2-4's two rounds.
    @inlinable @inline(__always)
    public mutating func compress(_ m: UInt64) {
        v3 ^= m
        round()
        round()
        v0 ^= m
    }

    /// Absorbs the final block (the message's last 0–7 bytes with its length in the top
    /// byte) and returns the hash.
    @inlinable @inline(__always)
    public func finalize(lastBlock b: UInt64) -> UInt64 {
        var s = self
        s.compress(b)
        s.v2 ^= 0xff
        s.round()
        s.round()
        s.round()
        s.round()
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3
    }
}

public enum SipHash {
    /// SipHash-2-4 of `length` bytes at `bytes`.
    @inlinable @inline(__always)
    public static func hash(key: SipHashKey, bytes: UnsafeRawPointer, length: Int) -> UInt64 {
        var state = SipHashState(key: key)
        let fullBlocks = length >> 3
        var offset = 0
        for _ in 0..<fullBlocks {
            state.compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset &+= 8
        }
        var last = UInt64(truncatingIfNeeded: length) << 56
        let tail = length & 7
        var i = 0
        while i < tail {
            last |= UInt64(bytes.load(fromByteOffset: offset &+ i, as: UInt8.self)) << (UInt64(truncatingIfNeeded: i) &* 8)
            i &+= 1
        }
        return state.finalize(lastBlock: last)
    }

    /// SipHash-2-4 of a byte buffer.
    @inlinable
    public static func hash(key: SipHashKey, _ buffer: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = buffer.baseAddress else {
            return SipHashState(key: key).finalize(lastBlock: 0)
        }
        return hash(key: key, bytes: base, length: buffer.count)
    }

    /// SipHash-2-4 of an array of bytes (convenience for tests and tools).
    public static func hash(key: SipHashKey, _ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash(key: key, $0) }
    }

    /// The 8 output bytes of SipHash-2-4, in the order the reference implementation writes them.
    public static func hashBytes(key: SipHashKey, _ bytes: [UInt8]) -> [UInt8] {
        let h = hash(key: key, bytes)
        return (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) }
    }
}
