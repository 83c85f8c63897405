import ArgumentParser
import GLBCore

struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove the program from an interface.",
        discussion: """
            Removes glb-redirect's program from the interface's tcx ingress hook and its tc \
            filter from the clsact ingress hook, wherever it is; the kernel frees the \
            program and its maps once nothing uses them. When it removed a clsact filter, it \
            then removes the clsact qdisc too if no filter is left on it (ingress or egress), \
            whoever added it, unless --keep-qdisc is given: an empty clsact qdisc does \
            nothing. Fails if glb-redirect is not attached.
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Flag(help: "Leave the clsact qdisc in place even when no filter is left on it.")
    var keepQdisc = false

    func run() throws {
        let interface = try self.interface.resolve()
        var lines: [String] = []
        do {
            let tcx = TCXIngress(interface: interface)
            lines = try tcx.detach(tcx.glbRedirectPrograms())
            if let removed = try ClsactSlot.remove(from: interface, keepQdisc: keepQdisc) {
                lines.append(removed)
            }
        } catch LoaderError.foreignProgram where !lines.isEmpty {
            // glb-redirect ran on tcx; the clsact slot holds another tool's filter.
        } catch LoaderError.permission(let action, _) {
            throw LoaderError.permission(action: action, capabilities: Needs.detach)
        }
        guard !lines.isEmpty else {
            throw LoaderError.notAttached(interface: interface.name)
        }
        lines.forEach { Console.out($0) }
    }
}
