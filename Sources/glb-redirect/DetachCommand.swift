import ArgumentParser

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
            for program in try tcx.glbRedirectPrograms() {
                if try tcx.detach(program) {
                    lines.append("detached \(ProgramNames.program) (id \(program.id)) from \(interface.name) \(Hook.tcx.text)")
                }
            }
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
        lines.forEach(Console.out)
    }
}

extension ClsactSlot {
    /// Removes glb-redirect's filter from the slot, and then the clsact qdisc if nothing
    /// else uses it and `keepQdisc` is not set. Returns what it did, or nil if the slot was
    /// empty. Throws `.foreignProgram` if another program sits in the slot.
    static func remove(from interface: Interface, keepQdisc: Bool) throws -> String? {
        let tc = TCIngress(interface: interface)
        guard let id = try tc.attachedProgramID() else { return nil }
        do {
            if let info = try ProgramInfo.read(id: id), !info.isGLBRedirect {
                throw LoaderError.foreignProgram(interface: interface.name, programID: id, name: info.name)
            }
        } catch LoaderError.permission {
            // Removing a filter needs only CAP_NET_ADMIN; the slot is glb-redirect's own.
        }
        guard try tc.detach() else { return nil }

        var line = "detached \(ProgramNames.program) (id \(id)) from \(interface.name) clsact ingress"
        // A filter that another tool adds between the count and the removal would go with
        // the qdisc: where tools share clsact and come and go, --keep-qdisc avoids that.
        if !keepQdisc {
            let others = try TCFilterList.count(interface: interface, parent: TCFilterList.ingressParent)
                + TCFilterList.count(interface: interface, parent: TCFilterList.egressParent)
            if others == 0 {
                try tc.removeClsact()
                line += "; removed the clsact qdisc (no filters left on it)"
            } else {
                line += "; kept the clsact qdisc (other filters use it)"
            }
        }
        return line
    }
}
