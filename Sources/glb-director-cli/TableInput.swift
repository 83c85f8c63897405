import GLBCore

/// A forwarding table given on the command line: a JSON source (compiled here) or a binary
/// table, told apart by the binary format's magic bytes.
struct TableInput {
    var compiled: CompiledForwardingTable
    /// Table names, when the input is JSON (binary tables do not store them).
    var names: [String?]
    var warnings: [ConfigIssue]

    static func load(_ path: String) throws -> TableInput {
        let head = try FileIO.read(path: path, limit: BinaryTableFormat.headerSize + 256 * BinaryTableFormat.tableSize)
        if head.starts(with: BinaryTableFormat.magic) {
            let compiled: CompiledForwardingTable
            do {
                compiled = try BinaryTableFormat.decode(head)
            } catch {
                throw InputError(message: "\(path): \(error)")
            }
            return TableInput(compiled: compiled, names: compiled.tables.map { _ in nil }, warnings: [])
        }
        let decoded = ForwardingTableConfig.decode(bytes: head, file: path)
        let config = try decoded.get()
        return TableInput(compiled: RendezvousCompiler.compile(config),
                          names: config.tables.map(\.name), warnings: decoded.warnings)
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
