import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// The network namespace ids the current namespace has assigned (`ip netns list-id`), read
/// with an RTM_GETNSID dump: `attach --netns-id` must name one of them, or the program's socket
/// lookups could never match and every tunnelled packet would go to the next hop.
enum NamespaceIDs {
    /// NETNSA_NSID in linux/net_namespace.h.
    private static let nsidAttribute: UInt16 = 1
    private static let getNSID: Int32 = 90  // RTM_GETNSID
    private static let newNSID: Int32 = 88  // RTM_NEWNSID

    static func list() throws -> [Int32] {
        // struct rtgenmsg (the family) padded to 4 bytes.
        let answers = try RTNetlinkDump.run(type: getNSID, body: [UInt8(AF_UNSPEC), 0, 0, 0], answer: newNSID,
                                           action: "listing the network namespace ids")
        return answers.compactMap(nsid)
    }

    /// NETNSA_NSID of one RTM_NEWNSID body: rtgenmsg (4 bytes), then attributes.
    private static func nsid(_ body: [UInt8]) -> Int32? {
        var offset = 4
        while offset + 4 <= body.count {
            let length = Int(UInt16(body[offset]) | UInt16(body[offset + 1]) << 8)
            let type = UInt16(body[offset + 2]) | UInt16(body[offset + 3]) << 8
            guard length >= 4, offset + length <= body.count else { return nil }
            if type & 0x3FFF == nsidAttribute, length >= 8 {
                return body.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: Int32.self) }
            }
            offset += (length + 3) & ~3
        }
        return nil
    }
}
