/// The program's settings: entry 0 of map glb_config, 8 bytes in host (little-endian) order,
/// laid out as struct glb_config in glb_redirect_maps.h.
struct RedirectConfig: Equatable, Sendable {
    static let defaultGUEPort: UInt16 = 19523
    static let flagNetnsID: UInt16 = 0x0001
    static let size = 8

    /// UDP port of GUE traffic; 0 means the program's default, 19523.
    var guePort: UInt16
    /// Network namespace id for socket lookups; nil means the namespace of the interface.
    var netnsID: Int32?
    /// Flag bits this loader does not know (kept so `status` can show them).
    var unknownFlags: UInt16 = 0

    init(guePort: UInt16, netnsID: Int32?) {
        self.guePort = guePort
        self.netnsID = netnsID
    }

    init?(bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        let flags = u16(2)
        let rawID = Int32(bitPattern: UInt32(u16(4)) | UInt32(u16(6)) << 16)
        guePort = u16(0)
        // A negative id with the flag set also means "the interface's netns" to the program.
        netnsID = flags & Self.flagNetnsID != 0 && rawID >= 0 ? rawID : nil
        unknownFlags = flags & ~Self.flagNetnsID
    }

    var bytes: [UInt8] {
        let flags = (netnsID == nil ? 0 : Self.flagNetnsID) | unknownFlags
        let id = UInt32(bitPattern: netnsID ?? 0)
        return [
            UInt8(guePort & 0xff), UInt8(guePort >> 8),
            UInt8(flags & 0xff), UInt8(flags >> 8),
            UInt8(id & 0xff), UInt8(id >> 8 & 0xff), UInt8(id >> 16 & 0xff), UInt8(id >> 24),
        ]
    }

    var effectiveGUEPort: UInt16 {
        guePort == 0 ? Self.defaultGUEPort : guePort
    }

    var socketLookupText: String {
        if let netnsID { return "socket lookups in netns id \(netnsID)" }
        return "socket lookups in the interface's netns"
    }
}
