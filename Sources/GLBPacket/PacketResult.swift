/// What to do with a frame after processing.
@frozen
public enum PacketAction: UInt8, Sendable {
    /// Encapsulated in place: send `length` bytes starting `offset` bytes from the original start.
    case forward
    /// Rewritten in place into an answer to the sender (ICMP "too big"): send `length` bytes
    /// starting `offset` bytes from the original start, out the same way as `.forward`.
    case reply
    /// Not for us (no bind matches, or not IP): hand to the exception path, unchanged.
    case exception
    /// Malformed or unroutable: free it (the reason is counted).
    case drop
}

@frozen
public struct PacketResult: Sendable, Equatable {
    public var action: PacketAction
    /// Where the frame now starts relative to where it started (negative: it grew into the headroom).
    public var offset: Int
    /// The frame's new length.
    public var length: Int
    /// For `.forward` with the plane's `udpChecksumOffload`: the outer UDP checksum field holds
    /// the pseudo-header sum and the NIC must finish it, over this outer header.
    public var checksumOffload: ChecksumOffload

    @inlinable
    public init(action: PacketAction, offset: Int = 0, length: Int = 0, checksumOffload: ChecksumOffload = .none) {
        self.action = action
        self.offset = offset
        self.length = length
        self.checksumOffload = checksumOffload
    }
}

/// Who completes the outer UDP checksum of a forwarded frame.
@frozen
public enum ChecksumOffload: UInt8, Sendable {
    /// The packet path wrote the whole checksum (or none, over IPv4 without `udp_checksum`).
    case none
    /// The NIC: the checksum field holds the sum of the IPv4 / IPv6 pseudo-header.
    case ipv4
    case ipv6
}
