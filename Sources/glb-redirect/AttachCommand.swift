import ArgumentParser
import GLBCore

#if canImport(Glibc)
import Glibc
#endif

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load the program and attach it to an interface's tc ingress (or replace it).",
        discussion: """
            Loads the program (the one built into glb-redirect, or --object), writes its \
            settings into its config map and attaches it to the interface's ingress: first \
            on the tcx hook (Linux 6.6 and later), or, with --hook clsact or on older \
            kernels, as a tc filter in glb-redirect's slot on a clsact qdisc (added if the \
            interface has none). If a glb-redirect program is already attached, the new one \
            replaces it in a single step: no packet goes unprocessed or is dropped during \
            the switch, and the new program has its settings before it sees its first \
            packet. Moving between hooks works the same way: the new program is attached \
            first, then the old one removed. The new program starts with zeroed counters.

            Run it in the backend's network namespace (e.g. under `ip netns exec`). The \
            program stays attached after glb-redirect exits, until `detach`.
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Option(help: ArgumentHelp(
        "UDP port the director sends GUE to (1-65535).", valueName: "port"))
    var guePort: UInt16 = RedirectConfig.defaultGUEPort

    // .unconditional: "--netns-id -5" is a value to refuse with a reason, not a missing one.
    @Option(parsing: .unconditional, help: ArgumentHelp(
        """
        Look up local sockets in the network namespace with this id (as `ip netns list-id` \
        shows it from the interface's namespace) instead of the interface's own namespace. \
        Only for set-ups where the backend's service runs in another namespace than the \
        interface the tunnel arrives on.
        """, valueName: "id"))
    var netnsId: Int32?

    @Option(help: ArgumentHelp(
        """
        Where to attach: tcx (Linux 6.6 and later; costs each packet less and needs no \
        qdisc), clsact (a tc filter, for older kernels), or auto: tcx when the kernel has it.
        """, valueName: "hook"))
    var hook: HookChoice = .auto

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
        if let netnsId {
            let known = try NamespaceIDs.list()
            guard known.contains(netnsId) else { throw LoaderError.noSuchNamespaceID(netnsId, known: known) }
        }

        let program = try LoadedProgram.load(from: source, verifierLogPath: verifierLog)
        // Settings first: from its first packet on, the program must see them.
        try program.config.update(0, config.bytes)
        let hook = try self.hook.resolve(on: interface)

        let settings = "GUE port \(config.effectiveGUEPort), \(config.socketLookupText)"
        switch hook {
        case .tcx: try attachToTCX(program, interface, settings: settings)
        case .clsact: try attachToClsact(program, interface, settings: settings)
        }
    }

    /// First on the tcx hook, in place of a glb-redirect program there; then a glb-redirect
    /// filter left on clsact goes (tcx runs before clsact, so it sees no GUE packet any more).
    /// The attach is reported as soon as it is done, so that an error while tidying up after
    /// it cannot hide that the new program runs.
    private func attachToTCX(_ program: LoadedProgram, _ interface: Interface, settings: String) throws {
        let tcx = TCXIngress(interface: interface)
        let previous = try tcx.glbRedirectPrograms()
        let id = try tcx.attach(programFD: program.programFD, replacing: previous.first)
        Console.out("attached \(ProgramNames.program) (id \(id)) to \(interface.name) \(Hook.tcx.text)"
            + (previous.first.map { ", replacing id \($0.id)" } ?? "") + "; " + settings)
        try tcx.detach(previous.dropFirst()).forEach { Console.out($0) }
        do {
            if let removed = try ClsactSlot.remove(from: interface, keepQdisc: false) {
                Console.out(removed)
            }
        } catch LoaderError.foreignProgram {
            // Another tool's filter in the slot: not glb-redirect's to remove.
        }
    }

    /// In glb-redirect's clsact slot, in place of the program there; then any glb-redirect
    /// program on the tcx hook goes (until then it ran first and handled every GUE packet).
    /// Those are found before anything changes: a lookup that fails then leaves the
    /// interface as it was.
    private func attachToClsact(_ program: LoadedProgram, _ interface: Interface, settings: String) throws {
        let tcx = TCXIngress(interface: interface)
        let onTCX = try tcx.glbRedirectPrograms()
        let tc = TCIngress(interface: interface)
        let createdClsact = try tc.ensureClsact()
        do {
            let previous = try ClsactSlot.occupant(tc)
            let id = try tc.attach(programFD: program.programFD)
            Console.out("attached \(ProgramNames.program) (id \(id)) to \(interface.name) \(Hook.clsact.text)"
                + (previous.map { ", replacing id \($0)" } ?? "") + "; " + settings)
        } catch {
            // Leave the interface as it was: no empty clsact qdisc of ours behind.
            if createdClsact { try? tc.removeClsact() }
            throw error
        }
        try tcx.detach(onTCX).forEach { Console.out($0) }
    }
}
