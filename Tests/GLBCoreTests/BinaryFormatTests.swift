import GLBCore
import Testing

@Suite("Binary table format")
struct BinaryFormatTests {
    static func sample() throws -> (ForwardingTableConfig, CompiledForwardingTable) {
        let config = try ForwardingTableConfig.load(path: Fixtures.path("compat/director/example1/table.json")).config
        return (config, RendezvousCompiler.compile(config))
    }

    @Test("JSON → binary → reader gives back the same tables, binds, backends and rows")
    func roundTrip() throws {
        let (config, compiled) = try Self.sample()
        let bytes = BinaryTableFormat.encode(compiled)
        #expect(bytes.count == 24 + 2 * 537_624)
        let decoded = try BinaryTableFormat.decode(bytes)
        #expect(decoded == compiled)
        for (source, table) in zip(config.tables, decoded.tables) {
            #expect(table.binds == source.binds)
            #expect(table.hashKey == source.hashKey)
            #expect(table.backends.map(\.address) == source.backends.map(\.address))
            #expect(table.backends.map(\.healthy) == source.backends.map(\.healthy))
            #expect(table.backends.map(\.state) == source.backends.map { BinaryBackendState($0.state) })
        }
        #expect(decoded.tables[0].binds[2].address.family == .ipv6)
        #expect(decoded.tables[0].binds[3].prefixLength == 25)
        #expect(decoded.tables[0].backends[2].state == .drainingOrInactive)
    }

    @Test("every compat case round-trips", arguments: Fixtures.compatCases())
    func compatRoundTrip(name: String) throws {
        let compiled = try CompatTableTests.compile(name)
        #expect(try BinaryTableFormat.decode(BinaryTableFormat.encode(compiled)) == compiled)
    }

    @Test("the header and first slots are laid out as GLB writes them")
    func layout() throws {
        let (_, compiled) = try Self.sample()
        let b = BinaryTableFormat.encode(compiled)
        #expect(Array(b[0..<4]) == Array("GLBD".utf8))
        #expect(Array(b[4..<24]) == [2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0])
        // table 0: 4 backends, first = IPv4 10.20.0.1 active/up
        #expect(Array(b[24..<28]) == [4, 0, 0, 0])
        #expect(Array(b[28..<52]) == [1, 0, 0, 0, 10, 20, 0, 1] + [UInt8](repeating: 0, count: 12) + [1, 0, 1, 0])
        // third backend is draining: state 2
        #expect(Array(b[28 + 48 + 20..<28 + 48 + 24]) == [2, 0, 1, 0])
        // binds start after 256 backend slots: count 4, then tcp 192.0.2.80/32 port 80
        let binds = 28 + 256 * 24
        #expect(Array(b[binds..<binds + 4]) == [4, 0, 0, 0])
        #expect(Array(b[binds + 4..<binds + 32]) == [1, 0, 0, 0, 192, 0, 2, 80] + [UInt8](repeating: 0, count: 12) + [32, 0, 80, 0, 80, 0, 6, 0])
    }

    /// One way to damage a file.
    enum Damage: Sendable, CustomTestStringConvertible {
        case set(Int, UInt8)
        case truncate(Int)
        case append

        func apply(_ b: inout [UInt8]) {
            switch self {
            case .set(let at, let value): b[at] = value
            case .truncate(let count): b.removeSubrange(count...)
            case .append: b.append(0)
            }
        }

        var testDescription: String {
            switch self {
            case .set(let at, let value): return "byte \(at) = \(value)"
            case .truncate(let count): return "truncated to \(count)"
            case .append: return "one byte appended"
            }
        }
    }

    static let table0 = 24
    static let binds0 = 24 + 4 + 256 * 24
    static let rows0 = 24 + 4 + 256 * 24 + 4 + 256 * 28 + 16
    static let fileSize = 24 + 2 * 537_624

    static let damages: [(Damage, String)] = [
        (.set(0, UInt8(ascii: "X")), "not a GLB forwarding table"),
        (.set(4, 3), "format version 3, only version 2 is supported"),
        (.set(14, 2), "unsupported geometry: 131072 rows"),
        (.truncate(fileSize - 1), "truncated: 1075271 bytes, 2 table(s) need 1075272"),
        (.append, "1 unexpected bytes after 2 table(s)"),
        (.truncate(30), "truncated: 30 bytes"),
        (.truncate(10), "truncated: 10 bytes, a table file starts with a 24-byte header"),
        (.set(8, 3), "truncated"),
        (.set(table0, 0), "table 0: 0 backends (expected 1-256)"),
        (.set(table0 + 1, 2), "table 0: 516 backends (expected 1-256)"),
        (.set(table0 + 4, 7), "table 0: backend 0: unknown address family 7"),
        (.set(table0 + 4 + 8, 1), "table 0: backend 0: IPv4 address with non-zero padding"),
        (.set(table0 + 4 + 20, 9), "table 0: backend 0: unknown state 9"),
        (.set(table0 + 4 + 22, 2), "table 0: backend 0: unknown health 2"),
        (.set(table0 + 4 + 4 * 24 + 5, 1), "table 0: unused backend slot 4 is not empty"),
        (.set(binds0, 255), "table 0: bind 4: unknown address family 0"),
        (.set(binds0 + 1, 1), "table 0: 260 binds (at most 256)"),
        (.set(binds0 + 4 + 20, 33), "table 0: bind 0: prefix /33 too long for IPv4"),
        (.set(binds0 + 4 + 26, 1), "table 0: bind 0: unknown protocol 1"),
        (.set(binds0 + 4 + 22, 81), "table 0: bind 0: port range 81-80 is empty"),
        (.set(binds0 + 4 + 4 * 28 + 26, 6), "table 0: unused bind slot 4 is not empty"),
        (.set(rows0 + 8 * 1234, 4), "table 0: row 1234 points at backend 4, but the table has 4"),
        (.set(rows0 + 8 * 65535 + 7, 1), "table 0: row 65535 points at backend 1677721"),
        (.set(rows0 + 537_624, 2), "table 1: row 0 points at backend 2, but the table has 2"),
    ]

    @Test("corrupt and truncated files are rejected with a clear reason", arguments: damages)
    func corruptFiles(damage: Damage, reason: String) throws {
        let (_, compiled) = try Self.sample()
        var bytes = BinaryTableFormat.encode(compiled)
        damage.apply(&bytes)
        do {
            _ = try BinaryTableFormat.decode(bytes)
            Issue.record("accepted a damaged file")
        } catch {
            #expect(error.message.hasPrefix(reason), "got: \(error.message)")
        }
    }

    @Test("random damage never crashes the reader")
    func randomDamage() throws {
        let (_, compiled) = try Self.sample()
        let original = BinaryTableFormat.encode(compiled)
        var rng = SplitMix(seed: 42)
        // Each decode checks a whole 1 MB file: 100 of them keep this test short in a debug build.
        for _ in 0..<100 {
            var bytes = original
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let at = Int(rng.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { bytes.removeLast(Int(rng.next() % 600_000)) }
            _ = try? BinaryTableFormat.decode(bytes)
        }
    }

    @Test("writing replaces the file atomically and leaves nothing behind")
    func atomicWrite() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (_, compiled) = try Self.sample()
        let path = dir.file("table.bin")
        try FileIO.writeAtomically(path: path, bytes: [1, 2, 3])
        try BinaryTableFormat.write(compiled, to: path)
        #expect(dir.contents() == ["table.bin"])
        #expect(try BinaryTableFormat.read(path: path) == compiled)

        #expect(throws: FileError.self) { try BinaryTableFormat.write(compiled, to: dir.file("missing/table.bin")) }
        #expect(dir.contents() == ["table.bin"])
    }

    @Test("read names the file in its errors")
    func readErrors() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try FileIO.writeAtomically(path: dir.file("bad.bin"), bytes: Array("GLBD".utf8) + [9, 0, 0, 0] + [UInt8](repeating: 0, count: 16))
        do {
            _ = try BinaryTableFormat.read(path: dir.file("bad.bin"))
            Issue.record("accepted a bad file")
        } catch {
            #expect("\(error)" == "\(dir.file("bad.bin")): format version 9, only version 2 is supported")
        }
        #expect(throws: FileError.self) { _ = try BinaryTableFormat.read(path: dir.file("absent.bin")) }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
