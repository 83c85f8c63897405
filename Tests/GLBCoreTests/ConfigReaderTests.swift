#if canImport(Glibc)
import Glibc
#endif
import GLBCore
import Testing

/// A format that reads one optional integer key and warns about the others, to test the
/// ladder every reader goes through without any reader's own rules.
private struct Counter: ConfigFile, Equatable {
    static let sizeLimit = 64
    var count: Int

    static func read(_ document: JSONValue, _ reader: inout ConfigReader) -> Counter? {
        guard case .object(let root) = document else {
            reader.error(nil, "expected an object, got \(document.kindName)")
            return nil
        }
        reader.warnUnknownKeys(root, known: ["count"], at: nil)
        return Counter(count: reader.integer(root, "count", in: 0...10) ?? 0)
    }
}

@Suite("Configuration reader toolkit")
struct ConfigReaderTests {
    static func object(_ text: String) -> JSONObject {
        guard case .object(let o)? = try? JSONValue.parse(text) else { fatalError("not an object: \(text)") }
        return o
    }

    @Test("typed keys: absent is nil without an issue; a wrong type or a value out of range is an error at its field")
    func typedKeys() {
        var reader = ConfigReader(file: "f.json")
        let o = Self.object(#"{"b": true, "nb": "yes", "i": 7, "ni": "7", "big": 70, "n": 0.5, "nn": false, "far": 2, "s": "x", "es": ""}"#)
        #expect(reader.bool(o, "b") == true && reader.bool(o, "absent") == nil)
        #expect(reader.integer(o, "i", in: 1...10) == 7 && reader.integer(o, "absent", in: 1...10) == nil)
        #expect(reader.number(o, "n", at: "t", in: 0...1) == 0.5 && reader.number(o, "i", in: 0...10) == 7)
        #expect(reader.string(o, "s") == "x" && reader.string(o, "absent") == nil)
        #expect(reader.issues.isEmpty)

        #expect(reader.bool(o, "nb", at: "lcores.lcore-1") == nil)
        #expect(reader.integer(o, "ni", in: 1...10) == nil)
        #expect(reader.integer(o, "big", at: "tables[0]", in: 1...10) == nil)
        #expect(reader.number(o, "nn", in: 0...1) == nil)
        #expect(reader.number(o, "far", in: 0...1) == nil)
        #expect(reader.string(o, "es") == nil)
        #expect(reader.string(o, "absent", required: true) == nil)
        #expect(reader.issues.map(\.labeled) == [
            "error: f.json: lcores.lcore-1.nb: expected true or false, got \"yes\"",
            "error: f.json: ni: expected an integer from 1 to 10, got \"7\"",
            "error: f.json: tables[0].big: 70 is out of range (expected 1-10)",
            "error: f.json: nn: expected a number from 0.0 to 1.0, got false",
            "error: f.json: far: 2.0 is out of range (expected 0.0 to 1.0)",
            "error: f.json: es: expected a non-empty string, got \"\"",
            "error: f.json: absent: missing",
        ])
        #expect(reader.errorCount == 7)
    }

    @Test("unknown keys are warnings, with the known keys listed or not")
    func unknownKeys() {
        var reader = ConfigReader(file: "f.json")
        let o = Self.object(#"{"a": 1, "typo": 2}"#)
        reader.warnUnknownKeys(o, known: ["a", "b"], at: "x")
        reader.warnUnknownKeys(o, known: ["a"], at: nil, listingKnown: false)
        #expect(reader.issues.map(\.labeled) == [
            "warning: f.json: x.typo: unknown key, ignored (expected one of: a, b)",
            "warning: f.json: typo: unknown key, ignored",
        ])
        #expect(!reader.hasErrors && reader.errorCount == 0)
    }

    @Test("a usable file gives its warnings; a clean one none")
    func loadedWarnings() throws {
        let typo = try Counter.decode(bytes: Array(#"{"count": 3, "cuont": 4}"#.utf8), file: "c.json")
        #expect(typo.config == Counter(count: 3))
        #expect(typo.warnings.map(\.labeled) == ["warning: c.json: cuont: unknown key, ignored (expected one of: count)"])
        let clean = try Counter.decode(bytes: Array(#"{"count": 3}"#.utf8), file: "c.json")
        #expect(clean.config == Counter(count: 3) && clean.warnings.isEmpty)
    }

    @Test("a file with an error throws every issue, its warnings included")
    func errorsCarryWarnings() {
        do {
            _ = try Counter.decode(bytes: Array(#"{"count": 30, "cuont": 4}"#.utf8), file: "c.json")
            Issue.record("decoded a file with an error")
        } catch {
            #expect(error.errors.map(\.description) == ["c.json: count: 30 is out of range (expected 0-10)"])
            #expect(error.warnings.map(\.field) == ["cuont"])
            #expect(error.issues.count == 2)
        }
    }

    @Test("JSON syntax errors name the line and column")
    func syntax() {
        #expect(throws: ConfigErrors.self) { try Counter.decode(bytes: Array("{\n  \"count\": 3,\n}".utf8), file: "c.json") }
        do {
            _ = try Counter.decode(bytes: Array("{\n  \"count\": 3,\n}".utf8), file: "c.json")
        } catch {
            #expect(error.description == "c.json: invalid JSON at line 3, column 1: expected a string key in object")
        }
    }

    @Test("load refuses a file larger than the format allows, and a FIFO, without reading them")
    func refusals() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let small = dir.file("small.json"), large = dir.file("large.json"), fifo = dir.file("fifo.json")
        try FileIO.writeAtomically(path: small, bytes: Array(#"{"count": 1}"#.utf8))
        try FileIO.writeAtomically(path: large, bytes: Array((#"{"count": 1}"# + String(repeating: " ", count: 60)).utf8))
        #expect(mkfifo(fifo, 0o600) == 0)

        // The same document within the limit loads: the size alone is refused.
        #expect(try Counter.load(path: small).config == Counter(count: 1))
        func failure(_ path: String) -> [String] {
            do {
                _ = try Counter.load(path: path)
                return []
            } catch {
                return error.errors.map(\.description)
            }
        }
        #expect(failure(large) == ["\(large): cannot read: file is 72 bytes, more than the 64 allowed"])
        #expect(failure(fifo) == ["\(fifo): cannot read: not a regular file"])
    }

    @Test("every reader of GLBCore returns the warnings of a valid file it loads, and none for a clean one")
    func everyReaderLoadsWarnings() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        func warnings<C: ConfigFile>(_ type: C.Type, _ text: String) throws -> [String] {
            let path = dir.file("config.json")
            try FileIO.writeAtomically(path: path, bytes: Array(text.utf8))
            return try C.load(path: path).warnings.map { $0.field ?? "" }
        }
        let director = #"{"outbound_gateway_mac": "00:11:22:33:44:55", "outbound_src_ip": "1.2.3.4", "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}], "lcores": {"lcore-1": {"rx": true, "tx": true, "flow_paths": [0]}}"#
        #expect(try warnings(DirectorConfig.self, director + "}") == [])
        #expect(try warnings(DirectorConfig.self, director + #", "tunel_mtu": 1500}"#) == ["tunel_mtu"])

        let table = TableJSON.table(backends: TableJSON.backends2)
        #expect(try warnings(ForwardingTableConfig.self, TableJSON.document([table])) == [])
        let typo = TableJSON.document([String(table.dropLast()) + #", "bakends": []}"#])
        #expect(try warnings(ForwardingTableConfig.self, typo) == ["bakends"])
    }
}
