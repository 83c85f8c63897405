/// The bits of an input's bytes 0 and 2: their one definition. fuzz/make-corpus reads the
/// `static let name = 0x..` lines below, under their names in capitals (`noEcho` is NO_ECHO).
enum InputBits {
    // Byte 0. Bits 0-1 hold one of the hash choices; 0, the default, hashes the source address.
    /// The hash choice's bits.
    static let hashChoice = 0x03
    /// Hash the source and destination addresses.
    static let hashSrcDst = 0x01
    /// Hash all four fields.
    static let hashAll = 0x02
    /// Hash the source address and port.
    static let hashSrcPort = 0x03
    /// An alternate hash over the source address.
    static let altHash = 0x04
    /// The UDP checksum in the GUE header.
    static let udpChecksum = 0x08
    /// Drop frames for other MACs.
    static let dropForeign = 0x10
    /// Do not forward ICMP echo.
    static let noEcho = 0x20
    /// The bits above: they choose the director's configuration (`Planes.config`).
    static let configuration = hashChoice | altHash | udpChecksum | dropForeign | noEcho
    /// The second set of tables.
    static let tableSet1 = 0x40
    /// Insert an 802.1Q tag (VLAN 100) after the MAC addresses.
    static let insertVLAN = 0x80
    // Byte 2.
    /// Make the IP length field fit the frame.
    static let fitLength = 0x80
    /// Bytes of Ethernet padding the fitted length leaves.
    static let padding = 0x07
}

/// How a fuzzer input drives one call of the packet path.
///
/// | byte | meaning |
/// |---|---|
/// | 0 | configuration, see `InputBits` |
/// | 1 | headroom in front of the frame, 0-255 bytes |
/// | 2 | bit 7: make the IP length field fit the frame; bits 0-2: bytes of Ethernet padding it leaves |
/// | 3… | the Ethernet frame |
///
/// Fitting the length field keeps a frame consistent while the fuzzer cuts or extends it, so
/// truncations inside the transport header are reached quickly rather than all being
/// rejected for a length beyond the frame.
struct FuzzInput {
    static let headerLength = 3

    let configuration: Int
    let headroom: Int
    let insertVLAN: Bool
    let fitLength: Bool
    let padding: Int
    let tableSet: Int
    let frame: UnsafeRawBufferPointer

    init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= FuzzInput.headerLength else { return nil }
        let bits = Int(data[0])
        configuration = bits & InputBits.configuration
        tableSet = bits & InputBits.tableSet1 != 0 ? 1 : 0
        insertVLAN = bits & InputBits.insertVLAN != 0
        headroom = Int(data[1])
        fitLength = Int(data[2]) & InputBits.fitLength != 0
        padding = Int(data[2]) & InputBits.padding
        frame = UnsafeRawBufferPointer(rebasing: data[FuzzInput.headerLength...])
    }

    /// The frame's length once the tag, if asked for, is inserted.
    var frameLength: Int {
        insertVLAN && frame.count >= 12 ? frame.count + 4 : frame.count
    }

    /// Writes the frame (with the tag, if asked for, and the length fitted, if asked for) to
    /// `out`, which holds `frameLength` bytes.
    func write(to out: UnsafeMutableRawPointer) {
        let length = frameLength
        if insertVLAN && frame.count >= 12 {
            out.copyMemory(from: frame.baseAddress!, byteCount: 12)
            let tag: [UInt8] = [0x81, 0x00, 0x00, 100]
            tag.withUnsafeBytes { (out + 12).copyMemory(from: $0.baseAddress!, byteCount: 4) }
            (out + 16).copyMemory(from: frame.baseAddress! + 12, byteCount: frame.count - 12)
        } else if let base = frame.baseAddress {
            out.copyMemory(from: base, byteCount: frame.count)
        }
        guard fitLength, length >= 14 else { return }
        let bytes = out.assumingMemoryBound(to: UInt8.self)
        let l3 = bytes[12] == 0x81 && bytes[13] == 0x00 ? 18 : 14
        guard length > l3 else { return }
        func put16(_ at: Int, _ value: Int) {
            bytes[at] = UInt8(truncatingIfNeeded: value >> 8)
            bytes[at + 1] = UInt8(truncatingIfNeeded: value)
        }
        switch bytes[l3] >> 4 {
        case 4 where length >= l3 + 4 && length - l3 - padding >= 0:
            put16(l3 + 2, length - l3 - padding)
        case 6 where length >= l3 + 6 && length - l3 - 40 - padding >= 0:
            put16(l3 + 4, length - l3 - 40 - padding)
        default:
            break
        }
    }
}
