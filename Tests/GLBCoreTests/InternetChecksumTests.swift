import GLBCore
import Testing

@Suite("Internet checksum")
struct InternetChecksumTests {
    @Test("RFC 1071's example, and an odd length")
    func rfc1071() {
        #expect(InternetChecksum.of([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]) == ~UInt16(0xddf2))
        #expect(InternetChecksum.of([0xff]) == ~UInt16(0xff00))
    }
}
