import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load the program and attach it to an interface's tc ingress (or replace it).",
        discussion: """
            Loads the program (the one built into glb-redirect, or --object), writes its \
            settings into its config map, adds a clsact qdisc to the interface if it has none, \
            and puts the program in glb-redirect's tc filter slot. If a glb-redirect program \
            is already attached there, the new one replaces it in a single step: no packet \
            goes unprocessed or is dropped during the switch, and the new program has its \
            settings before it sees its first packet. The new program starts with zeroed \
            counters.

            Run it in the backend's network namespace (e.g. under `ip netns exec`). The \
            program stays attached after glb-redirect exits, until `detach`.
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Option(help: ArgumentHelp(
        "UDP port the director sends GUE to (1-65535).", valueName: "port"))
    var guePort: UInt16 = RedirectConfig.defaultGUEPort

    @Option(help: ArgumentHelp(
        """
        Look up local sockets in the network namespace with this id (as `ip netns list-id` \
        shows it from the interface's namespace) instead of the interface's own namespace. \
        Only for set-ups where the backend's service runs in another namespace than the \
        interface the tunnel arrives on.
        """, valueName: "id"))
    var netnsId: Int32?

    @Option(help: ArgumentHelp(
        "Load this eBPF object file instead of the program built into glb-redirect.",
        valueName: "file"))
    var object: String?

    @Option(help: ArgumentHelp(
        """
        Where to write the kernel verifier's log if it rejects the program (default: a new \
        file glb-redirect-verifier-*.log in $TMPDIR or /tmp).
        """, valueName: "file"))
    var verifierLog: String?

    @Flag(help: "Print libbpf's messages about loading and attaching the program to stderr.")
    var verbose = false

    func validate() throws {
        guard guePort != 0 else {
            throw ValidationError("--gue-port must be between 1 and 65535")
        }
        if let netnsId, netnsId < 0 {
            throw ValidationError("--netns-id must be 0 or more (leave it out for the interface's own namespace)")
        }
    }

    func run() throws {
        if verbose { LibBPFLog.includeDebugMessages() }
        defer {
            if verbose { LibBPFLog.take().forEach { Console.error($0) } }
        }
        let interface = try self.interface.resolve()
        let source: ProgramSource = object.map { .file($0) } ?? .embedded
        let config = RedirectConfig(guePort: guePort, netnsID: netnsId)

        let program = try LoadedProgram.load(from: source, verifierLogPath: verifierLog)
        // Settings first: from its first packet on, the program must see them.
        try program.config.update(0, config.bytes)

        let tc = TCIngress(interface: interface)
        let createdClsact = try tc.ensureClsact()
        do {
            let previous = try previousProgram(tc)
            let id = try tc.attach(programFD: program.programFD)
            var line = "attached \(ProgramNames.program) (id \(id)) to \(interface.name) ingress"
            if let previous { line += ", replacing id \(previous)" }
            Console.out(line + "; GUE port \(config.effectiveGUEPort), \(config.socketLookupText)")
        } catch {
            // Leave the interface as it was: no empty clsact qdisc of ours behind.
            if createdClsact { try? tc.removeClsact() }
            throw error
        }
    }

    /// The id of the glb-redirect program already in the slot, if any. Refuses to replace a
    /// program of another tool that happens to use the same slot.
    private func previousProgram(_ tc: TCIngress) throws -> UInt32? {
        guard let id = try tc.attachedProgramID() else { return nil }
        do {
            if let info = try ProgramInfo.read(id: id), !info.isGLBRedirect {
                throw LoaderError.foreignProgram(interface: tc.interface.name, programID: id, name: info.name)
            }
        } catch LoaderError.permission {
            // Without CAP_SYS_ADMIN the name cannot be read; the slot is glb-redirect's own.
        }
        return id
    }
}
