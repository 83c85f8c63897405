import ArgumentParser
import GLBCore

@main
struct GLBRedirect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glb-redirect",
        abstract: "Load and inspect the glb-redirect eBPF program on a GLB backend.",
        discussion: """
            A GLB director sends each connection to a primary backend inside a GUE tunnel \
            (UDP port 19523) whose header lists the next backends to try. glb-redirect runs \
            on every backend at tc ingress of the interface the tunnel arrives on: a packet \
            of a connection this backend owns (or a new SYN) is decapsulated and handed to \
            the local stack, where the VIP is configured on lo; a packet of a connection it \
            does not know is sent on to the next hop in the GUE header ("second chance"), so \
            connections survive when the forwarding table changes. It replaces GLB's \
            iptables module (ipt_GLBREDIRECT) and needs no iptables rules.

            The program is built into this binary; `attach` loads it and attaches it to the \
            interface's tcx ingress hook (Linux 6.6 and later), or on older kernels adds it \
            as a tc filter on the clsact ingress hook (handle \(TCSlot.handleText), priority \
            \(TCSlot.priority)). The hook keeps the program loaded after glb-redirect exits; \
            nothing is pinned. `status`, `stats` and `detach` find the program again from \
            the interface, so they work from any process in the same network namespace, \
            including under `ip netns exec`.

            attach needs root, or CAP_BPF and CAP_NET_ADMIN; status and stats need root, or \
            CAP_SYS_ADMIN (the kernel opens a program by id only for it); detach needs \
            CAP_NET_ADMIN. attach and detach need CAP_SYS_ADMIN as well whenever the tcx \
            hook holds programs. See docs/glb-redirect.md for backend setup and \
            troubleshooting.
            """,
        version: SwiftGLBVersion.line("glb-redirect"),
        subcommands: [Attach.self, Detach.self, Status.self, Stats.self]
    )

    static func main() {
        // Before any libbpf call: its messages are kept for errors and --verbose, not
        // printed in the middle of the output.
        LibBPFLog.capture()
        main(nil)
    }
}
