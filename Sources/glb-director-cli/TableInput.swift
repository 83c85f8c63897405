import GLBCore

/// A forwarding table given on the command line: a JSON source (compiled here) or a binary
/// table, told apart by the binary format's magic bytes.
struct TableInput {
    var compiled: CompiledForwardingTable
    /// Table names, when the input is JSON (binary tables do not store them).
    var names: [String?]
    /// Each table's backends' `weight` and `previous_weight` as written, when the input is
    /// JSON and the table has any (binary tables store rows, not weights).
    var weights: [[BackendWeights]?]
    var warnings: [ConfigIssue]
    /// True when the input is a compiled binary table.
    var isBinary = false
    /// True when a binary table's checksum file exists and matches.
    var checksumVerified = false

    struct BackendWeights {
        var weight: Int?
        var previous: Int?

        /// "3", "1 -> 3" in a transition table.
        var description: String {
            let now = weight.map(String.init) ?? "1"
            guard let previous else { return now }
            return "\(previous) -> \(now)"
        }
    }

    static func load(_ path: String) throws -> TableInput {
        let head = try FileIO.read(path: path, limit: BinaryTableFormat.headerSize + 256 * BinaryTableFormat.tableSize)
        if head.starts(with: BinaryTableFormat.magic) {
            let compiled: CompiledForwardingTable
            let verified: Bool
            do {
                verified = try TableChecksum.verify(head, table: path)
                compiled = try BinaryTableFormat.decode(head)
            } catch let mismatch as TableChecksum.Mismatch {
                throw InputError(message: mismatch.description)
            } catch {
                throw InputError(message: "\(path): \(error)")
            }
            return TableInput(compiled: compiled, names: compiled.tables.map { _ in nil },
                              weights: compiled.tables.map { _ in nil }, warnings: [], isBinary: true,
                              checksumVerified: verified)
        }
        if looksBinary(head) {
            let start = head.prefix(4).map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "." }.joined()
            throw InputError(message: "\(path): neither JSON nor a binary forwarding table: it starts with \"\(start)\" (\(head.prefix(4).map(Hex.byte).joined(separator: " "))), a binary table with \"GLBD\"")
        }
        let loaded = try ForwardingTableConfig.decode(bytes: head, file: path)
        let config = loaded.config
        let weights = config.tables.map { table -> [BackendWeights]? in
            guard table.backends.contains(where: { $0.weight != nil || $0.previousWeight != nil }) else { return nil }
            return table.backends.map { BackendWeights(weight: $0.weight, previous: $0.previousWeight) }
        }
        return TableInput(compiled: RendezvousCompiler.compile(config),
                          names: config.tables.map(\.name), weights: weights, warnings: loaded.warnings)
    }

    /// True for input that is not text: control bytes other than whitespace near the start.
    /// A JSON source never has them, so reporting "invalid JSON" would mislead (a damaged or
    /// foreign binary table is the likely file).
    static func looksBinary(_ bytes: [UInt8]) -> Bool {
        bytes.prefix(64).contains { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
    }

    func label(_ index: Int) -> String {
        TableConfig.label(index: index, name: index < names.count ? names[index] : nil)
    }
}

/// A command-line input that cannot be used.
struct InputError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension TableInput {
    /// Backend `b` of table `t`'s weights as JSON keys (none when the input has none).
    func weightKeys(_ t: Int, _ b: Int) -> [(String, JSONValue)] {
        guard t < weights.count, let w = weights[t]?[b] else { return [] }
        var keys: [(String, JSONValue)] = [("weight", .integer(Int64(w.weight ?? 1)))]
        if let previous = w.previous { keys.append(("previous_weight", .integer(Int64(previous)))) }
        return keys
    }
}
