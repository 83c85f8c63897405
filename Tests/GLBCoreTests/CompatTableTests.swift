import Foundation
import GLBCore
import Testing

/// Byte-compatibility with GLB Director's own compiler: the committed reference cases give
/// the SHA-256 of the binary table GLB's `glb-director-cli build-config` writes.
@Suite("GLB compatibility of compiled tables")
struct CompatTableTests {
    static let expectedDigests: [String: String] = {
        let text = String(decoding: try! FileIO.read(path: Fixtures.path("compat/tables/SHA256SUMS"), limit: 1 << 20), as: UTF8.self)
        var digests: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            digests[String(parts[1].dropLast(4))] = String(parts[0])
        }
        return digests
    }()

    static func compile(_ name: String) throws -> CompiledForwardingTable {
        return RendezvousCompiler.compile(try ForwardingTableConfig.load(path: Fixtures.path("compat/tables/\(name).json")).config)
    }

    @Test("every reference case compiles to GLB's bytes", arguments: Fixtures.compatCases())
    func byteIdentical(name: String) throws {
        let expected = try #require(Self.expectedDigests[name])
        let bytes = BinaryTableFormat.encode(try Self.compile(name))
        #expect(sha256(bytes) == expected)
    }

    @Test("the digest comparison sees a change in any single row")
    func singleRowChangeIsCaught() throws {
        var compiled = try Self.compile("case06")
        let expected = try #require(Self.expectedDigests["case06"])
        #expect(sha256(BinaryTableFormat.encode(compiled)) == expected)
        for (table, row) in [(0, 0), (1, 32768), (2, 65535)] {
            var changed = compiled
            let r = changed.tables[table].rows[row]
            changed.tables[table].rows[row] = TableRow(primary: r.secondary, secondary: r.primary)
            #expect(sha256(BinaryTableFormat.encode(changed)) != expected)
        }
        compiled.tables[0].rows[100].secondary ^= 1
        #expect(sha256(BinaryTableFormat.encode(compiled)) != expected)
    }

    @Test("the optimised compiler agrees row by row with a plain implementation", arguments: Fixtures.compatCases())
    func agreesWithPlainCompiler(name: String) throws {
        let config = try ForwardingTableConfig.load(path: Fixtures.path("compat/tables/\(name).json")).config
        for table in config.tables {
            let compiled = RendezvousCompiler.compile(table)
            let competitors = table.backends.filter { $0.state != .inactive }.count
            // Bound the work of the slow reference: every row for small tables, a spread for big ones.
            for i in stride(from: 0, to: TableLimits.rowCount, by: max(1, competitors / 4)) {
                #expect(compiled.rows[i] == PlainCompiler.row(i, table), "row \(i)")
            }
        }
    }
}

/// GLB's algorithm written the obvious way: hash every backend with the whole message,
/// sort all scores, then apply the draining/unhealthy swap.
enum PlainCompiler {
    static func row(_ i: Int, _ table: TableConfig) -> TableRow {
        let index = UInt32(i)
        let rowSeed = SipHash.hashBytes(key: table.seed, [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: index >> $0) })
        var scored: [(score: UInt64, position: Int)] = []
        for (position, backend) in table.backends.enumerated() where backend.state != .inactive {
            let out = SipHash.hashBytes(key: table.seed, rowSeed + backend.address.bytes)
            scored.append((out.reduce(0) { $0 << 8 | UInt64($1) }, position))
        }
        let sorted = scored.enumerated().sorted { ($0.element.score, $0.offset) < ($1.element.score, $1.offset) }.map(\.element)
        guard sorted.count > 1 else { return TableRow(primary: UInt32(sorted[0].position), secondary: UInt32(sorted[0].position)) }
        var first = sorted[0].position, second = sorted[1].position
        let p = table.backends[first], s = table.backends[second]
        if (p.state == .draining || !p.healthy) && s.state == .active { swap(&first, &second) }
        return TableRow(primary: UInt32(first), secondary: UInt32(second))
    }
}

/// SHA-256 through coreutils, so the check does not depend on code of ours.
func sha256(_ bytes: [UInt8]) -> String {
    let dir = TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.file("table.bin")
    try! FileIO.writeAtomically(path: path, bytes: bytes)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let output = Pipe()
    process.standardOutput = output
    try! process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data.prefix(64), as: UTF8.self)
}
