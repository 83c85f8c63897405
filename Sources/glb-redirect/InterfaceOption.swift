import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The `--iface` option every subcommand takes.
struct InterfaceOption: ParsableArguments {
    @Option(
        name: .customLong("iface"),
        help: ArgumentHelp(
            "The backend's interface that GUE traffic arrives on, in the current network namespace.",
            valueName: "name"
        )
    )
    var name: String

    /// The interface's index, looked up in the current network namespace. Names go through
    /// the kernel (not /sys), which stays right inside `ip netns exec`.
    func resolve() throws -> Interface {
        guard !name.isEmpty, name.utf8.count < Int(IF_NAMESIZE) else {
            throw LoaderError.noSuchInterface(name)
        }
        let index = if_nametoindex(name)
        guard index != 0 else { throw LoaderError.noSuchInterface(name) }
        return Interface(name: name, index: Int32(bitPattern: index))
    }
}

struct Interface: Sendable {
    let name: String
    let index: Int32
}
