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
}

/// `attach --hook`: a hook, or the best one this kernel has.
enum HookChoice: String, CaseIterable, ExpressibleByArgument {
    case auto
    case tcx
    case clsact

    func resolve(on interface: Interface) throws -> Hook {
        let hasTCX = try TCXIngress(interface: interface).programIDs() != nil
        switch self {
        case .auto: return hasTCX ? .tcx : .clsact
        case .clsact: return .clsact
        case .tcx:
            guard hasTCX else { throw LoaderError.noTCX(interface: interface.name) }
            return .tcx
        }
    }
}
