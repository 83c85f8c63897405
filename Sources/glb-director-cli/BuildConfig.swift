import ArgumentParser
import GLBCore
import GLBLogging

struct BuildConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-config",
        abstract: "Compile a JSON forwarding table into the binary table the director loads.",
        discussion: """
            Byte-for-byte the same output as GLB Director's `glb-director-cli build-config`. \
            The destination is written to a temporary file in its folder and renamed into \
            place, so a director reloading at the same moment sees the old or the new table, \
            never half of one. Errors and warnings are printed as GLB's JSON log lines on \
            stderr; nothing is printed on success. A table without any bind (no tables, or \
            tables without binds) would make a director drop all traffic at its next reload: \
            it is refused unless --allow-no-binds says that is meant. Exit status: 0 on \
            success, 1 on any error (nothing is written then).
            """
    )

    @Argument(help: ArgumentHelp("The forwarding table source (JSON, GLB's schema).", valueName: "src-json"))
    var source: String

    @Argument(help: ArgumentHelp("Where to write the binary table.", valueName: "dst-binary"))
    var destination: String

    @Flag(help: "Write the table even if it has no binds (a director loading it forwards nothing).")
    var allowNoBinds = false

    @Flag(help: ArgumentHelp(
        "Also write DST.sha256 (sha256sum's format), which the director checks on every load.",
        discussion: "Without it, a DST.sha256 left from an earlier table is removed, so that it never describes another table."))
    var checksum = false

    func run() throws {
        guard !FileIO.isSameFile(source, destination) else {
            Console.glbLog("error", "\(destination) is the source \(source): writing the binary table would replace the JSON; choose another destination")
            throw CommandFailure()
        }
        let config: ForwardingTableConfig
        do {
            let loaded = try ForwardingTableConfig.load(path: source)
            for warning in loaded.warnings { Console.glbLog("warning", warning.description) }
            config = loaded.config
        } catch {
            // Warnings first, as for a table that compiles.
            for warning in error.warnings { Console.glbLog("warning", warning.description) }
            for error in error.errors { Console.glbLog("error", error.description) }
            throw CommandFailure()
        }
        let compiled = RendezvousCompiler.compile(config)
        for problem in AddressFamilyMix.problems(compiled) {
            Console.glbLog("warning", "\(source): \(TableConfig.label(index: problem.table, name: config.tables[problem.table].name)): \(problem.message)")
        }
        if let reason = NoBinds.reason(compiled), !allowNoBinds {
            Console.glbLog("error", "\(source): \(reason): a director loading it would drop all traffic; pass --allow-no-binds if that is meant")
            throw CommandFailure()
        }
        do {
            let bytes = BinaryTableFormat.encode(compiled)
            try FileIO.writeAtomically(path: destination, bytes: bytes)
            if checksum {
                try TableChecksum.write(for: bytes, table: destination)
            } else {
                TableChecksum.removeStale(table: destination)
            }
        } catch {
            Console.glbLog("error", error.description)
            throw CommandFailure()
        }
    }
}
