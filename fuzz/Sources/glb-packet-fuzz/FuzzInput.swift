/// How a fuzzer input drives one call of the packet path.
///
/// | byte | meaning |
/// |---|---|
/// | 0 | configuration, see the bits below |
/// | 1 | headroom in front of the frame, 0-255 bytes |
/// | 2 | bit 7: make the IP length field fit the frame; bits 0-2: bytes of Ethernet padding it leaves |
/// | 3… | the Ethernet frame |
///
/// Configuration bits of byte 0 (bits 0-1 hold one of the hash choices; 0, the default, hashes
/// the source address). This table is their one definition: fuzz/make-corpus reads it.
///
/// | name | value | meaning |
/// |---|---|---|
/// | HASH_SRC_DST | 0x01 | hash the source and destination addresses |
/// | HASH_ALL | 0x02 | hash all four fields |
/// | HASH_SRC_PORT | 0x03 | hash the source address and port |
/// | ALT_HASH | 0x04 | alternate hash over the source address |
/// | UDP_CHECKSUM | 0x08 | UDP checksum in the GUE header |
/// | DROP_FOREIGN | 0x10 | drop frames for other MACs |
/// | NO_ECHO | 0x20 | do not forward ICMP echo |
/// | TABLES_1 | 0x40 | the second set of tables |
/// | INSERT_VLAN | 0x80 | insert an 802.1Q tag (VLAN 100) after the MAC addresses |
///
/// Byte 2, read the same way:
///
/// | name | value | meaning |
/// |---|---|---|
/// | FIT_LENGTH | 0x80 | make the IP length field fit the frame |
/// | PADDING | 0x07 | bytes of Ethernet padding the fitted length leaves |
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
        configuration = bits & 0x3f
        tableSet = (bits >> 6) & 1
        insertVLAN = bits & 0x80 != 0
        headroom = Int(data[1])
        fitLength = data[2] & 0x80 != 0
        padding = Int(data[2] & 7)
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
