import GLBCore
import Testing

/// Every validation rule, with the location and wording an operator needs to fix the file.
@Suite("Forwarding table validation")
struct ValidationTests {
    /// Decodes a document and returns its errors.
    func errors(_ text: String) -> [ConfigIssue] {
        TableJSON.issues(text).filter { $0.severity == .error }
    }

    func single(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigIssue {
        let errs = errors(text)
        #expect(errs.count == 1, "\(errs)", sourceLocation: sourceLocation)
        return try #require(errs.first, sourceLocation: sourceLocation)
    }

    let good = TableJSON.backends2

    @Test("a valid table has no issues")
    func valid() throws {
        let decoded = try TableJSON.decode(TableJSON.document([TableJSON.table(backends: good)]))
        #expect(decoded.warnings.isEmpty)
        let config = decoded.config
        #expect(config.tables.count == 1)
        #expect(config.tables[0].name == "web")
        #expect(config.tables[0].binds == [Bind(address: IPAddress("192.0.2.1")!, proto: .tcp, portStart: 80, portEnd: 80)])
    }

    @Test("backend addresses no backend can have are warned about", arguments: [
        ("0.0.0.0", "the unspecified address"), ("255.255.255.255", "the broadcast address"),
        ("0.1.2.3", "in 0.0.0.0/8"), ("127.0.0.1", "a loopback address"), ("239.1.1.1", "a multicast address"),
    ])
    func unusableBackends(address: String, problem: String) throws {
        let warnings = try TableJSON.decode(TableJSON.document([TableJSON.table(backends: [TableJSON.backend("10.0.0.1"), TableJSON.backend(address)])])).warnings
        #expect(warnings.count == 1)
        #expect(warnings.first?.field == "backends[1].ip")
        #expect(warnings.first?.message.hasPrefix("\(address) is \(problem)") == true)
        // An ordinary address next to it draws no warning.
        #expect(try TableJSON.decode(TableJSON.document([TableJSON.table(backends: good)])).warnings.isEmpty)
    }

    @Test("errors name the file, the table (index and name) and the field")
    func location() throws {
        let doc = TableJSON.document([
            TableJSON.table(name: "first", backends: good),
            TableJSON.table(name: "second", backends: [TableJSON.backend("10.0.0.1", state: "actve")]),
        ])
        let issue = try single(doc)
        #expect(issue.file == "test.json")
        #expect(issue.tableIndex == 1)
        #expect(issue.tableName == "second")
        #expect(issue.field == "backends[0].state")
        #expect(issue.description == "test.json: table 1 (second): backends[0].state: expected one of active, draining, filling, inactive, got \"actve\"")
    }

    @Test("bad hex keys", arguments: [
        ("hash_key", "0011", "expected 32 hexadecimal digits (16 bytes), got \"0011\" (4 characters)"),
        ("hash_key", "zz112233445566778899aabbccddeeff", "expected 32 hexadecimal digits"),
        ("seed", "0123456789abcdef0123456789abcdef00", "expected 32 hexadecimal digits"),
        ("seed", "", "expected 32 hexadecimal digits"),
    ])
    func badKeys(field: String, value: String, message: String) throws {
        let table = field == "hash_key" ? TableJSON.table(hashKey: value, backends: good) : TableJSON.table(seed: value, backends: good)
        let issue = try single(TableJSON.document([table]))
        #expect(issue.field == field)
        #expect(issue.message.contains(message))
    }

    @Test("missing and mistyped keys")
    func missingKeys() throws {
        let issue = try single(#"{"tables": [{"seed": "0123456789abcdef0123456789abcdef", "binds": [], "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": true}]}]}"#)
        #expect(issue.field == "hash_key")
        #expect(issue.message.hasPrefix("missing"))
        let mistyped = #"{"tables": [{"hash_key": 5, "seed": "0123456789abcdef0123456789abcdef", "binds": [], "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": true}]}]}"#
        #expect(try single(mistyped).message == "expected a string of 32 hexadecimal digits, got an integer")
    }

    @Test("bad bind addresses and masks", arguments: [
        ("10.0.0", "expected an IPv4 or IPv6 address, or a CIDR prefix"),
        ("10.0.0.256", "expected an IPv4 or IPv6 address"),
        ("2001:db8::g", "expected an IPv4 or IPv6 address"),
        ("10.0.0.0/33", "mask /33 is too long for an IPv4 address (at most /32)"),
        ("2001:db8::/129", "mask /129 is too long for an IPv6 address (at most /128)"),
        ("10.0.0.0/x", "expected a prefix length 0-32"),
        ("10.0.0.0/-1", "expected a prefix length 0-32"),
        ("10.0.0.0/8/8", "expected an IPv4 or IPv6 address"),
    ])
    func badBindAddress(ip: String, message: String) throws {
        let bind = "{\"ip\": \"\(ip)\", \"proto\": \"tcp\", \"port\": 80}"
        let issue = try single(TableJSON.document([TableJSON.table(binds: [bind], backends: good)]))
        #expect(issue.field == "binds[0].ip")
        #expect(issue.message.contains(message), "\(issue.message)")
    }

    @Test("bad backend addresses", arguments: ["10.0.0", "10.0.0.1/32", "backend-1", "::ffff:1.2.3"])
    func badBackendAddress(ip: String) throws {
        let issue = try single(TableJSON.document([TableJSON.table(backends: good + [TableJSON.backend(ip)])]))
        #expect(issue.field == "backends[2].ip")
        #expect(issue.message == "expected an IPv4 or IPv6 address, got \"\(ip)\"")
    }

    @Test("ports out of range, not integers, or start after end", arguments: [
        (#""port": 65536"#, "binds[0].port", "port 65536 is out of range (expected 0-65535)"),
        (#""port": -1"#, "binds[0].port", "port -1 is out of range (expected 0-65535)"),
        (#""port": 80.5"#, "binds[0].port", "expected an integer port 0-65535, got 80.5"),
        (#""port": "80""#, "binds[0].port", "expected an integer port 0-65535, got \"80\""),
        (#""port_start": 90, "port_end": 80"#, "binds[0]", "port_start 90 is greater than port_end 80"),
        (#""port_start": 0, "port_end": 70000"#, "binds[0].port_end", "port 70000 is out of range (expected 0-65535)"),
        (#""port_start": 80"#, "binds[0].port_end", "missing: a range needs both port_start and port_end"),
        (#""port_end": 80"#, "binds[0].port_start", "missing: a range needs both port_start and port_end"),
    ])
    func badPorts(ports: String, field: String, message: String) throws {
        let bind = "{\"ip\": \"192.0.2.1\", \"proto\": \"udp\", \(ports)}"
        let issue = try single(TableJSON.document([TableJSON.table(binds: [bind], backends: good)]))
        #expect(issue.field == field)
        #expect(issue.message == message)
    }

    @Test("a bind without any port")
    func noPort() throws {
        let issue = try single(TableJSON.document([TableJSON.table(binds: [#"{"ip": "192.0.2.1", "proto": "tcp"}"#], backends: good)]))
        #expect(issue.field == "binds[0]")
        #expect(issue.message.hasPrefix("missing port"))
    }

    @Test("unknown protocols", arguments: ["sctp", "TCP", "icmp"])
    func unknownProtocol(proto: String) throws {
        let bind = "{\"ip\": \"192.0.2.1\", \"proto\": \"\(proto)\", \"port\": 80}"
        let issue = try single(TableJSON.document([TableJSON.table(binds: [bind], backends: good)]))
        #expect(issue.field == "binds[0].proto")
        #expect(issue.message == "expected \"tcp\" or \"udp\", got \"\(proto)\"")
    }

    @Test("unknown states and bad health", arguments: [
        (#"{"ip": "10.0.0.9", "state": "up", "healthy": true}"#, "backends[2].state", "expected one of active, draining, filling, inactive, got \"up\""),
        (#"{"ip": "10.0.0.9", "healthy": true}"#, "backends[2].state", "missing: expected one of active, draining, filling, inactive"),
        (#"{"ip": "10.0.0.9", "state": 1, "healthy": true}"#, "backends[2].state", "expected one of active, draining, filling, inactive, got an integer"),
        (#"{"ip": "10.0.0.9", "state": "active", "healthy": "yes"}"#, "backends[2].healthy", "expected true or false, got \"yes\""),
        (#"{"ip": "10.0.0.9", "state": "active", "healthy": 1}"#, "backends[2].healthy", "expected true or false, got 1"),
        (#"{"state": "active", "healthy": true}"#, "backends[2].ip", "missing: expected the backend's IPv4 address"),
    ])
    func badBackend(backend: String, field: String, message: String) throws {
        let issue = try single(TableJSON.document([TableJSON.table(backends: good + [backend])]))
        #expect(issue.field == field)
        #expect(issue.message == message)
    }

    @Test("more than 256 backends or binds")
    func limits() throws {
        let backends = TableJSON.activeBackends(257)
        let issue = try single(TableJSON.document([TableJSON.table(backends: backends)]))
        #expect(issue.field == "backends")
        #expect(issue.message == "257 backends, at most 256 fit in a table")
        #expect(errors(TableJSON.document([TableJSON.table(backends: TableJSON.activeBackends(256))])).isEmpty)

        let binds = (0..<257).map { "{\"ip\": \"192.0.2.1\", \"proto\": \"tcp\", \"port\": \($0)}" }
        let bindIssue = try single(TableJSON.document([TableJSON.table(binds: binds, backends: good)]))
        #expect(bindIssue.field == "binds")
        #expect(bindIssue.message == "257 binds, at most 256 fit in a table")
    }

    @Test("more than 256 tables")
    func tooManyTables() throws {
        let tables = (0..<257).map { TableJSON.table(name: "t\($0)", backends: TableJSON.backends2) }
        let issue = try single(TableJSON.document(tables))
        #expect(issue.field == "tables")
        #expect(issue.message == "257 tables, a director serves at most 256")
    }

    @Test("tables with no usable backend")
    func noUsableBackend() throws {
        let none = try single(TableJSON.document([TableJSON.table(backends: [])]))
        #expect(none.field == "backends")
        #expect(none.message.hasPrefix("no backends"))
        let inactive = try single(TableJSON.document([TableJSON.table(backends: [
            TableJSON.backend("10.0.0.1", state: "inactive"), TableJSON.backend("10.0.0.2", state: "inactive"),
        ])]))
        #expect(inactive.message.hasPrefix("every backend is inactive"))
        // Unhealthy is still usable (GLB compiles it; rows fall back to the secondary).
        #expect(errors(TableJSON.document([TableJSON.table(backends: [TableJSON.backend("10.0.0.1", healthy: false)])])).isEmpty)
    }

    @Test("duplicate backends")
    func duplicates() throws {
        let issue = try single(TableJSON.document([TableJSON.table(backends: good + [TableJSON.backend("10.0.0.1", state: "draining")])]))
        #expect(issue.field == "backends[2].ip")
        #expect(issue.message == "duplicate backend 10.0.0.1 (already backends[0])")
        let v6 = try single(TableJSON.document([TableJSON.table(backends: [TableJSON.backend("2001:db8::1"), TableJSON.backend("2001:DB8:0::1")])]))
        #expect(v6.message == "duplicate backend 2001:db8::1 (already backends[0])")
    }

    @Test("a backend without healthy is accepted, unhealthy, with a warning")
    func missingHealthy() throws {
        let decoded = try TableJSON.decode(TableJSON.document([TableJSON.table(backends: [TableJSON.backend("10.0.0.1", healthy: nil), TableJSON.backend("10.0.0.2")])]))
        let config = decoded.config
        #expect(config.tables[0].backends[0].healthy == false)
        #expect(decoded.warnings.count == 1)
        #expect(decoded.warnings.first?.field == "backends[0].healthy")
        #expect(decoded.warnings.first?.message == "missing: the backend is treated as unhealthy (as GLB does)")
    }

    @Test("all problems are reported at once")
    func allAtOnce() {
        let doc = TableJSON.document([
            TableJSON.table(hashKey: "short", binds: [#"{"ip": "1.2.3.4/40", "proto": "icmp", "port": 99999}"#],
                            backends: [TableJSON.backend("10.0.0.1", state: "gone"), TableJSON.backend("nope")]),
            TableJSON.table(name: "b", seed: "xyz", backends: good),
        ])
        let fields = errors(doc).map { "\($0.tableIndex ?? -1):\($0.field ?? "")" }
        #expect(fields == ["0:hash_key", "0:binds[0].ip", "0:binds[0].proto", "0:binds[0].port", "0:backends[0].state", "0:backends[1].ip", "1:seed"])
    }

    @Test("malformed JSON is reported with line and column")
    func malformedJSON() throws {
        let issue = try single("{\"tables\": [\n  {\"name\": \"web\",\n   \"seed\": 12,,\n}]}")
        #expect(issue.description == "test.json: invalid JSON at line 3, column 15: expected a string key in object")
        #expect(try single("").message == "invalid JSON at line 1, column 1: unexpected end of input, expected a value")
        #expect(try single("[]").message == "expected a JSON object with a \"tables\" array, got an array")
        #expect(try single("{}").message.hasPrefix("missing: the file must contain a \"tables\" array"))
        #expect(try single(#"{"tables": {}}"#).message == "expected an array of tables, got an object")
        #expect(try single(#"{"tables": [1]}"#).message == "expected a table object, got an integer")
    }

    @Test("unknown keys and host bits produce warnings, not errors")
    func warnings() throws {
        let decoded = try TableJSON.decode(TableJSON.document([TableJSON.table(
            binds: [#"{"ip": "10.1.2.3/8", "proto": "tcp", "port": 80}"#],
            backends: [#"{"ip": "10.0.0.1", "state": "active", "heathy": true}"#])]))
        let config = decoded.config
        #expect(config.tables[0].binds[0].address == IPAddress("10.1.2.3"))
        #expect(config.tables[0].binds[0].prefixLength == 8)
        #expect(decoded.warnings.map { $0.field ?? "" }.sorted() == ["backends[0].healthy", "backends[0].heathy", "binds[0].ip"])
    }

    @Test("a table name is optional")
    func optionalName() throws {
        let text = #"{"tables": [{"hash_key": "00112233445566778899aabbccddeeff", "seed": "00112233445566778899aabbccddeeff", "binds": [], "backends": [{"ip": "10.0.0.1", "state": "active", "healthy": true}, {"ip": "10.0.0.1", "state": "active", "healthy": true}]}]}"#
        let issue = try single(text)
        #expect(issue.tableName == nil)
        #expect(issue.description.hasPrefix("test.json: table 0: backends[1].ip"))
    }
}

extension TableJSON {
    static let backends2 = [backend("10.0.0.1"), backend("10.0.0.2")]
}
