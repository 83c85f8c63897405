/// GLB Director's binary forwarding table, format version 2 (docs/design.md §5): all integers
/// little-endian, structures packed, fixed slot counts so that every table has the same size.
public enum BinaryTableFormat {
    public static let magic: [UInt8] = Array("GLBD".utf8)
    public static let version: UInt32 = 2
    public static let headerSize = 4 + 5 * 4
    static let backendSlotSize = 24
    static let bindSlotSize = 28
    /// Bytes of one table: counts, all slots, hash key and rows.
    public static let tableSize = 4 + TableLimits.maxBackends * backendSlotSize
        + 4 + TableLimits.maxBinds * bindSlotSize + 16 + TableLimits.rowCount * 8

    /// A table file that cannot be used, and why.
    public struct FormatError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    // MARK: Writing

    /// The file's bytes.
    public static func encode(_ file: CompiledForwardingTable) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize + file.tables.count * tableSize)
        w.bytes(magic)
        w.u32(version)
        w.u32(UInt32(file.tables.count))
        w.u32(UInt32(TableLimits.rowCount))
        w.u32(UInt32(TableLimits.maxBackends))
        w.u32(UInt32(TableLimits.maxBinds))
        for table in file.tables {
            precondition(table.backends.count <= TableLimits.maxBackends && table.binds.count <= TableLimits.maxBinds)
            precondition(table.rows.count == TableLimits.rowCount)
            w.u32(UInt32(table.backends.count))
            for b in table.backends {
                w.u32(b.address.family.rawValue)
                w.address16(b.address)
                w.u16(b.state.rawValue)
                w.u16(b.healthy ? 1 : 0)
            }
            w.zeros((TableLimits.maxBackends - table.backends.count) * backendSlotSize)
            w.u32(UInt32(table.binds.count))
            for b in table.binds {
                w.u32(b.address.family.rawValue)
                w.address16(b.address)
                w.u16(UInt16(b.prefixLength))
                w.u16(b.portStart)
                w.u16(b.portEnd)
                w.u8(b.proto.ipProtocol)
                w.u8(0)
            }
            w.zeros((TableLimits.maxBinds - table.binds.count) * bindSlotSize)
            w.bytes(table.hashKey.bytes)
            for row in table.rows {
                w.u32(row.primary)
                w.u32(row.secondary)
            }
        }
        return w.buffer
    }

    /// Writes the file atomically (temporary file in the same folder, then rename).
    public static func write(_ file: CompiledForwardingTable, to path: String) throws(FileError) {
        try FileIO.writeAtomically(path: path, bytes: encode(file))
    }

    // MARK: Reading

    /// Reads and checks a table file, and its checksum file when there is one
    /// (`TableChecksum`).
    public static func read(path: String) throws -> CompiledForwardingTable {
        // 256 tables is far more than any director serves; it bounds memory for hostile input.
        let bytes = try FileIO.read(path: path, limit: headerSize + 256 * tableSize)
        try TableChecksum.verify(bytes, table: path)
        do {
            return try decode(bytes)
        } catch {
            throw FormatError("\(path): \(error.message)")
        }
    }

    /// Decodes and checks a table file's bytes: magic, version, sizes, every slot and every
    /// row index. Anything inconsistent is an error naming the table and the slot.
    public static func decode(_ data: [UInt8]) throws(FormatError) -> CompiledForwardingTable {
        var r = ByteReader(data)
        guard data.count >= headerSize else {
            throw FormatError("truncated: \(data.count) bytes, a table file starts with a \(headerSize)-byte header")
        }
        guard r.bytes(4) == magic else {
            throw FormatError("not a GLB forwarding table (magic is not \"GLBD\")")
        }
        let version = r.u32()
        guard version == Self.version else {
            throw FormatError("format version \(version), only version \(Self.version) is supported")
        }
        let numTables = Int(r.u32())
        let entries = r.u32(), maxBackends = r.u32(), maxBinds = r.u32()
        guard entries == UInt32(TableLimits.rowCount), maxBackends == UInt32(TableLimits.maxBackends),
              maxBinds == UInt32(TableLimits.maxBinds) else {
            throw FormatError("unsupported geometry: \(entries) rows, \(maxBackends) backend slots, \(maxBinds) bind slots (expected 65536, 256, 256)")
        }
        let expected = headerSize + numTables * tableSize
        guard data.count == expected else {
            throw FormatError(data.count < expected
                ? "truncated: \(data.count) bytes, \(numTables) table(s) need \(expected)"
                : "\(data.count - expected) unexpected bytes after \(numTables) table(s)")
        }
        var tables: [CompiledTable] = []
        for t in 0..<numTables {
            tables.append(try decodeTable(&r, index: t))
        }
        return CompiledForwardingTable(tables: tables)
    }

    static func decodeTable(_ r: inout ByteReader, index t: Int) throws(FormatError) -> CompiledTable {
        func fail(_ what: String) -> FormatError { FormatError("table \(t): \(what)") }

        let numBackends = Int(r.u32())
        guard numBackends >= 1 && numBackends <= TableLimits.maxBackends else {
            throw fail("\(numBackends) backends (expected 1-\(TableLimits.maxBackends))")
        }
        var backends: [CompiledBackend] = []
        for slot in 0..<TableLimits.maxBackends {
            let familyCode = r.u32()
            let address = r.bytes(16)
            let stateCode = r.u16()
            let health = r.u16()
            guard slot < numBackends else {
                guard familyCode == 0, address.allSatisfy({ $0 == 0 }), stateCode == 0, health == 0 else {
                    throw fail("unused backend slot \(slot) is not empty")
                }
                continue
            }
            guard let family = AddressFamily(rawValue: familyCode) else {
                throw fail("backend \(slot): unknown address family \(familyCode)")
            }
            guard family == .ipv6 || address[4...].allSatisfy({ $0 == 0 }) else {
                throw fail("backend \(slot): IPv4 address with non-zero padding")
            }
            guard let state = BinaryBackendState(rawValue: stateCode) else {
                throw fail("backend \(slot): unknown state \(stateCode)")
            }
            guard health <= 1 else { throw fail("backend \(slot): unknown health \(health)") }
            backends.append(CompiledBackend(
                address: IPAddress(family: family, bytes: Array(address.prefix(family.byteCount)))!,
                state: state, healthy: health == 1))
        }

        let numBinds = Int(r.u32())
        guard numBinds <= TableLimits.maxBinds else {
            throw fail("\(numBinds) binds (at most \(TableLimits.maxBinds))")
        }
        var binds: [Bind] = []
        for slot in 0..<TableLimits.maxBinds {
            let familyCode = r.u32()
            let address = r.bytes(16)
            let bits = Int(r.u16())
            let portStart = r.u16(), portEnd = r.u16()
            let proto = r.u8(), reserved = r.u8()
            guard slot < numBinds else {
                guard familyCode == 0, address.allSatisfy({ $0 == 0 }), bits == 0, portStart == 0, portEnd == 0,
                      proto == 0, reserved == 0 else {
                    throw fail("unused bind slot \(slot) is not empty")
                }
                continue
            }
            guard let family = AddressFamily(rawValue: familyCode) else {
                throw fail("bind \(slot): unknown address family \(familyCode)")
            }
            guard family == .ipv6 || address[4...].allSatisfy({ $0 == 0 }) else {
                throw fail("bind \(slot): IPv4 address with non-zero padding")
            }
            guard bits <= family.bitWidth else {
                throw fail("bind \(slot): prefix /\(bits) too long for \(family)")
            }
            guard let bindProto = BindProtocol(ipProtocol: proto) else {
                throw fail("bind \(slot): unknown protocol \(proto) (expected 6 or 17)")
            }
            guard portStart <= portEnd else {
                throw fail("bind \(slot): port range \(portStart)-\(portEnd) is empty")
            }
            binds.append(Bind(address: IPAddress(family: family, bytes: Array(address.prefix(family.byteCount)))!,
                              prefixLength: bits, proto: bindProto, portStart: portStart, portEnd: portEnd))
        }

        let hashKey = SipHashKey(bytes: r.bytes(16))
        var rows: [TableRow] = []
        rows.reserveCapacity(TableLimits.rowCount)
        for i in 0..<TableLimits.rowCount {
            let p = r.u32(), s = r.u32()
            guard p < UInt32(numBackends), s < UInt32(numBackends) else {
                throw fail("row \(i) points at backend \(max(p, s)), but the table has \(numBackends)")
            }
            rows.append(TableRow(primary: p, secondary: s))
        }
        return CompiledTable(backends: backends, binds: binds, hashKey: hashKey, rows: rows)
    }
}

/// Appends little-endian integers to a byte array.
struct ByteWriter {
    var buffer: [UInt8] = []

    init(capacity: Int) { buffer.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { buffer.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) } }
    mutating func bytes(_ b: [UInt8]) { buffer.append(contentsOf: b) }
    mutating func zeros(_ n: Int) { buffer.append(contentsOf: repeatElement(0, count: n)) }

    /// An address in a 16-byte slot: IPv4 in the first 4 bytes, the rest zero.
    mutating func address16(_ a: IPAddress) {
        bytes(a.bytes)
        zeros(16 - a.bytes.count)
    }
}

/// Reads little-endian integers; callers check the total size first.
struct ByteReader {
    let data: [UInt8]
    var offset = 0

    init(_ data: [UInt8]) { self.data = data }

    mutating func u8() -> UInt8 {
        defer { offset += 1 }
        return data[offset]
    }

    mutating func u16() -> UInt16 {
        defer { offset += 2 }
        return UInt16(data[offset]) | UInt16(data[offset + 1]) << 8
    }

    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return (0..<4).reduce(0) { $0 | UInt32(data[offset + $1]) << (8 * UInt32($1)) }
    }

    mutating func bytes(_ n: Int) -> [UInt8] {
        defer { offset += n }
        return Array(data[offset..<offset + n])
    }
}
