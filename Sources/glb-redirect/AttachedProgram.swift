#if canImport(Glibc)
import Glibc
#endif

/// glb-redirect as it runs on an interface: the program on its hook and the two maps,
/// found from the interface alone.
struct AttachedProgram {
    let interface: Interface
    let hook: Hook
    let info: ProgramInfo
    let config: BPFMap
    let counters: BPFMap

    /// Finds glb-redirect's program on `interface`: on the tcx hook, else in glb-redirect's
    /// clsact filter slot (where it runs on kernels without tcx, or when attached with
    /// --hook clsact). Throws `.notAttached` if it is in neither place and `.foreignProgram`
    /// if the clsact slot holds another program.
    static func find(on interface: Interface) throws -> AttachedProgram {
        do {
            // Older kernels let only CAP_NET_ADMIN list a hook's programs, even one they do
            // not have: if listing is refused, the clsact slot may still hold the program,
            // which CAP_SYS_ADMIN can open.
            var refused: LoaderError?
            do {
                if let info = try TCXIngress(interface: interface).glbRedirectPrograms().first {
                    return try AttachedProgram(interface: interface, hook: .tcx, info: info)
                }
            } catch let error as LoaderError {
                guard case .permission = error else { throw error }
                refused = error
            }
            if let info = try ClsactSlot.program(on: interface) {
                return try AttachedProgram(interface: interface, hook: .clsact, info: info)
            }
            throw refused ?? LoaderError.notAttached(interface: interface.name)
        } catch LoaderError.permission(let action, _) {
            // CAP_SYS_ADMIN alone is enough for every step here on current kernels.
            throw LoaderError.permission(action: action, capabilities: Needs.inspect)
        }
    }

    private init(interface: Interface, hook: Hook, info: ProgramInfo) throws {
        var config: BPFMap?
        var counters: BPFMap?
        for mapID in info.mapIDs {
            let map = try BPFMap.open(id: mapID)
            if map.name == ProgramNames.config { config = map }
            if map.name == ProgramNames.counters { counters = map }
        }
        guard let config, let counters else {
            throw LoaderError.objectInvalid(
                source: "program \(info.name) (id \(info.id)) on \(interface.name)",
                detail: "it has no map \(config == nil ? ProgramNames.config : ProgramNames.counters)",
                libbpf: [])
        }
        self.interface = interface
        self.hook = hook
        self.info = info
        self.config = config
        self.counters = counters
    }

    func readConfig() throws -> RedirectConfig {
        let bytes = try config.lookup(0)
        guard let value = RedirectConfig(bytes: bytes) else {
            throw LoaderError.system(action: "map \(ProgramNames.config) has \(bytes.count)-byte values", errno: EINVAL)
        }
        return value
    }

    func readCounters() throws -> CounterValues {
        try CounterValues.read(from: counters)
    }
}
