import ArgumentParser
import GLBCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a forwarding table (or a director.conf) and report every problem at once.",
        discussion: """
            Given a director.conf instead (recognised by its keys), checks it as the director \
            does before starting, like GLB's glb-config-check. For a JSON source, every error \
            and warning is listed with the file, the table \
            (index and name) and the field. For a binary table (a file starting with "GLBD"), \
            the file's structure is checked as the director checks it before loading. Exit \
            status 1 if there is any error (or any warning with --strict).
            """
    )

    @Argument(help: ArgumentHelp("The forwarding table: JSON source or compiled binary.", valueName: "table"))
    var path: String

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        let input: TableInput
        do {
            input = try TableInput.load(path)
        } catch let errors as ConfigErrors {
            // Not a table: a director.conf is looked for only then, so a table is read once.
            if DirectorConfigCheck.looksLikeDirectorConfig(path: path) {
                guard DirectorConfigCheck.run(path: path, strict: strict) else { throw CommandFailure() }
                return
            }
            for issue in errors.issues { Console.out(issue.labeled) }
            let e = errors.errors.count, w = errors.issues.count - e
            Console.out("\(path): \(count(e, "error")), \(count(w, "warning"))")
            throw CommandFailure()
        } catch {
            Console.out("\(error)")
            throw CommandFailure()
        }
        var warnings = input.warnings
        // A JSON source's decoder says so already, table by table.
        if input.isBinary, let reason = NoBinds.reason(input.compiled) {
            warnings.append(ConfigIssue(.warning, file: path, message: "\(reason): a director loading this table drops all traffic"))
        }
        for issue in warnings { Console.out(issue.labeled) }
        // Written as GLB writes them, but not allowed: see AddressFamilyMix.
        let mixes = AddressFamilyMix.problems(input.compiled).map {
            ConfigIssue(.error, file: path, tableIndex: $0.table, tableName: input.names[$0.table], message: $0.message)
        }
        for issue in mixes { Console.out(issue.labeled) }
        guard mixes.isEmpty else {
            Console.out("\(path): \(count(mixes.count, "error")), \(count(warnings.count, "warning"))")
            throw CommandFailure()
        }
        let tables = input.compiled.tables
        let binds = tables.reduce(0) { $0 + $1.binds.count }
        let backends = tables.reduce(0) { $0 + $1.backends.count }
        let summary = "\(count(tables.count, "table")), \(count(binds, "bind")), \(count(backends, "backend"))"
        if strict && !warnings.isEmpty {
            Console.out("\(path): \(count(warnings.count, "warning")) (--strict): \(summary)")
            throw CommandFailure()
        }
        var note = warnings.isEmpty ? "" : " (\(count(warnings.count, "warning")))"
        if input.checksumVerified { note += " (SHA-256 matches \(TableChecksum.path(forTable: path)))" }
        Console.out("\(path): OK\(note): \(summary)")
    }
}

/// "1 table", "2 tables".
func count(_ n: Int, _ noun: String) -> String {
    "\(n) \(noun)\(n == 1 ? "" : "s")"
}
