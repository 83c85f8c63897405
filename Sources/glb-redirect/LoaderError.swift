import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// Every failure glb-redirect reports, worded for the operator who has to act on it.
enum LoaderError: Error, CustomStringConvertible {
    case noSuchInterface(String)
    /// A bpf() or tc operation was refused; `action` says which and `capabilities` what it needs.
    case permission(action: String, capabilities: String)
    case verifierRejected(errno: Int32, logPath: String?, logError: String?)
    case objectNotFound(String)
    case objectInvalid(source: String, detail: String, libbpf: [String])
    case notAttached(interface: String)
    case noTCX(interface: String)
    case foreignProgram(interface: String, programID: UInt32, name: String)
    case system(action: String, errno: Int32)
    case noSuchNamespaceID(Int32, known: [Int32])

    var description: String {
        switch self {
        case .noSuchInterface(let name):
            return "no interface named '\(name)' in this network namespace "
                + "(see `ip link`; for another namespace run glb-redirect under `ip netns exec NAME`)"
        case .permission(let action, let capabilities):
            return "\(action): operation not permitted. glb-redirect needs root, or \(capabilities)"
        case .verifierRejected(let errno, let logPath, let logError):
            var text = "the kernel's verifier rejected the program (\(errorText(errno)))"
            if let logPath {
                text += "; the verifier log is in \(logPath)"
            } else if let logError {
                text += "; the verifier log could not be saved: \(logError)"
            }
            return text
        case .objectNotFound(let path):
            return "program object '\(path)' not found"
        case .objectInvalid(let source, let detail, let libbpf):
            var text = "\(source): \(detail)"
            if !libbpf.isEmpty {
                text += "\nlibbpf said:\n" + libbpf.map { "  " + $0 }.joined(separator: "\n")
            }
            return text
        case .notAttached(let interface):
            return "glb-redirect is not attached to \(interface) "
                + "(no program glb_redirect on its tcx ingress hook, and no tc filter at clsact ingress "
                + "handle \(TCSlot.handleText), priority \(TCSlot.priority))"
        case .noTCX(let interface):
            return "this kernel has no tcx hook for \(interface) (it needs Linux 6.6 or later); "
                + "attach with --hook clsact instead"
        case .foreignProgram(let interface, let programID, let name):
            return "the tc filter at clsact ingress handle \(TCSlot.handleText), priority \(TCSlot.priority) "
                + "of \(interface) runs program '\(name)' (id \(programID)), not glb_redirect; "
                + "remove it with `tc filter del dev \(interface) ingress handle \(TCSlot.handleText) "
                + "prio \(TCSlot.priority) bpf` if it is stale"
        case .system(let action, let errno):
            return "\(action): \(errorText(errno))"
        case .noSuchNamespaceID(let id, let known):
            return "--netns-id \(id): no network namespace has this id here (ids: "
                + (known.isEmpty ? "none" : known.map(String.init).joined(separator: ", "))
                + "; see `ip netns list-id`, and `ip netns set NAME ID` to give one); "
                + "socket lookups in it could never match"
        }
    }
}

extension LoaderError {
    /// An operation the kernel refused: a permission error names the capabilities `needs`,
    /// any other its error code.
    static func refused(_ action: String, errno code: Int32, needs: String) -> LoaderError {
        code == EPERM || code == EACCES ? .permission(action: action, capabilities: needs) : .system(action: action, errno: code)
    }
}

/// What an error code means: the kernel's words, or libbpf's for its own codes (4000 and up).
func errorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard libbpf_strerror(code, &buffer, buffer.count) == 0 else {
        return "error \(code)"
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// libbpf 1.x returns -errno on failure (and sets errno as well).
/// Opens a BPF object (program or map) by id with `open`, mapping failures to the loader's
/// errors; nil when it is gone (ENOENT) and `missingIsNil` is set.
func openBPFObject(_ kind: String, id: UInt32, missingIsNil: Bool = false, _ open: (UInt32) -> Int32) throws -> FileDescriptor? {
    let rc = open(id)
    guard rc >= 0 else {
        let code = libbpfErrno(rc)
        if code == ENOENT && missingIsNil { return nil }
        throw LoaderError.refused("opening \(kind) id \(id)", errno: code, needs: Needs.inspect)
    }
    return FileDescriptor(rc)
}

func libbpfErrno(_ rc: Int32) -> Int32 {
    rc < 0 ? -rc : rc
}

/// Capabilities by kind of operation, as the kernel checks them.
enum Needs {
    static let load = "CAP_BPF and CAP_NET_ADMIN (to load a tc program)"
    static let tc = "CAP_NET_ADMIN (to change tc filters)"
    static let inspect = "CAP_SYS_ADMIN (to open a loaded program by its id)"
    static let list = "CAP_NET_ADMIN or CAP_SYS_ADMIN (to list the programs on a tcx hook)"
    static let tell = "CAP_SYS_ADMIN as well as what the command needs otherwise (to tell "
        + "glb-redirect's program from the others on the tcx hook by its name)"
    static let detach = "CAP_NET_ADMIN, and CAP_SYS_ADMIN whenever the tcx hook holds programs "
        + "(to tell glb-redirect's from the others)"
}
