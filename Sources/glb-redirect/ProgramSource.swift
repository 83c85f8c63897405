/// Where the program to attach comes from: the object built into this binary, or a file
/// given with --object.
enum ProgramSource: Sendable {
    case embedded
    case file(String)

    var label: String {
        switch self {
        case .embedded: return "the built-in program"
        case .file(let path): return path
        }
    }
}

/// The names glb-redirect's object must use (glb_redirect.bpf.c, glb_redirect_maps.h).
enum ProgramNames {
    static let program = "glb_redirect"
    static let config = "glb_config"
    static let counters = "glb_counters"
}
