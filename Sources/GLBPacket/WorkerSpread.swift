import GLBCore

/// Which distributor worker a frame goes to, in GLB's distributor layout, when the NIC gives no
/// RSS hash: a function of the IP source and destination addresses only, so that every packet
/// of a flow (and both of its directions) reaches the same worker and stays in order, whatever
/// its ports, fragments included. Reads only the bytes it checks are there; a frame it cannot
/// read (not untagged IPv4 or IPv6, or too short) gives 0: the first worker, in order too.
public enum WorkerSpread {
    /// Where the addresses start, from the frame's first byte (untagged Ethernet): IPv4's
    /// source and destination (4 bytes each) and IPv6's (16 bytes each) follow each other.
    @usableFromInline static let ipv4Addresses = EthernetHeader.length + IPv4Header.sourceOffset
    @usableFromInline static let ipv6Addresses = EthernetHeader.length + IPv6Header.sourceOffset

    @inlinable @inline(__always)
    public static func hash(_ p: UnsafeRawPointer, length: Int) -> UInt32 {
        guard length >= EthernetHeader.length else { return 0 }
        let type = p.be16(EthernetHeader.typeOffset)
        var x: UInt32 = 0
        if type == EtherType.ipv4 && length >= ipv4Addresses &+ 8 {
            x = p.raw32(ipv4Addresses) ^ p.raw32(ipv4Addresses &+ 4)
        } else if type == EtherType.ipv6 && length >= ipv6Addresses &+ 32 {
            var offset = ipv6Addresses
            while offset < ipv6Addresses &+ 32 {
                x ^= p.raw32(offset)
                offset &+= 4
            }
        }
        // Multiplicative hashing: the high bits mix every address bit.
        return (x &* 0x9E37_79B1) >> 16
    }

    /// The worker of `workers` (at least 1) for a spread hash.
    @inlinable @inline(__always)
    public static func worker(_ hash: UInt32, of workers: Int) -> Int {
        Int(hash % UInt32(truncatingIfNeeded: workers))
    }
}
