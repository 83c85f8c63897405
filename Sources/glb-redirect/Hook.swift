import ArgumentParser

/// Where glb-redirect's program runs on an interface's ingress.
enum Hook: String, Sendable {
    /// The tcx hook (Linux 6.6 and later): cheaper per packet, no qdisc.
    case tcx
    /// A tc filter on the clsact qdisc, in glb-redirect's slot (TCSlot): for older kernels.
    case clsact

    var text: String {
        switch self {
        case .tcx: return "tcx ingress"
        case .clsact: return "tc clsact ingress handle \(TCSlot.handleText) priority \(TCSlot.priority)"
        }
    }

    /// What attach and detach say of a program they took off this hook.
    func detached(_ id: UInt32, from interface: Interface) -> String {
        "detached \(ProgramNames.program) (id \(id)) from \(interface.name) \(rawValue) ingress"
    }
}

/// `attach --hook`: a hook, or the best one this kernel has.
enum HookChoice: String, CaseIterable, ExpressibleByArgument {
    case auto
    case tcx
    case clsact

    func resolve(on interface: Interface) throws -> Hook {
        if self == .clsact { return .clsact }
        let hasTCX = try TCXIngress(interface: interface).programIDs() != nil
        if self == .tcx && !hasTCX { throw LoaderError.noTCX(interface: interface.name) }
        return hasTCX ? .tcx : .clsact
    }
}
