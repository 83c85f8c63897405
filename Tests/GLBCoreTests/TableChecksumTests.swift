import GLBCore
import Testing

@Suite("Forwarding table checksum file")
struct TableChecksumTests {
    @Test("SHA-256 as sha256sum computes it")
    func knownValue() {
        #expect(TableChecksum.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TableChecksum.line(for: Array("abc".utf8), table: "/etc/glb/t.bin")
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  t.bin\n")
    }

    @Test("a table is checked when its checksum file exists, and refused when it does not match")
    func verify() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let table = dir.file("t.bin")
        let bytes: [UInt8] = [1, 2, 3, 4]
        #expect(try TableChecksum.verify(bytes, table: table) == false)  // no checksum file: nothing to check
        try TableChecksum.write(for: bytes, table: table)
        #expect(try TableChecksum.verify(bytes, table: table) == true)
        #expect(throws: TableChecksum.Mismatch.self) { try TableChecksum.verify([1, 2, 3, 5], table: table) }
        try FileIO.writeAtomically(path: TableChecksum.path(forTable: table), bytes: Array("nonsense\n".utf8))
        #expect(throws: TableChecksum.Mismatch.self) { try TableChecksum.verify(bytes, table: table) }
        #expect(TableChecksum.removeStale(table: table))
        #expect(try TableChecksum.verify([9], table: table) == false)
    }
}
