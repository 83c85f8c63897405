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

    @inlinable
    public init(action: PacketAction, offset: Int = 0, length: Int = 0) {
        self.action = action
        self.offset = offset
        self.length = length
    }
}
