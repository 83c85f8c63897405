import ArgumentParser

struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove the program from an interface.",
        discussion: """
            Removes glb-redirect's tc filter from the interface's clsact ingress hook; the \
            kernel frees the program and its maps once nothing uses them. Then, unless \
            --keep-qdisc is given, removes the clsact qdisc if no filter is left on it \
            (ingress or egress), whoever added it: an empty clsact qdisc does nothing. \
            Fails if glb-redirect is not attached.
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Flag(help: "Leave the clsact qdisc in place even when no filter is left on it.")
    var keepQdisc = false

    func run() throws {
        let interface = try self.interface.resolve()
        let tc = TCIngress(interface: interface)
        guard let id = try tc.attachedProgramID() else {
            throw LoaderError.notAttached(interface: interface.name)
        }
        do {
            if let info = try ProgramInfo.read(id: id), !info.isGLBRedirect {
                throw LoaderError.foreignProgram(interface: interface.name, programID: id, name: info.name)
            }
        } catch LoaderError.permission {
            // Removing a filter needs only CAP_NET_ADMIN; the slot is glb-redirect's own.
        }
        guard try tc.detach() else {
            throw LoaderError.notAttached(interface: interface.name)
        }

        var line = "detached \(ProgramNames.program) (id \(id)) from \(interface.name) ingress"
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
        Console.out(line)
    }
}
