#if canImport(Glibc)
import Glibc
#endif

/// glb-redirect as it runs on an interface: the program in its tc slot and the two maps,
/// found from the interface alone.
struct AttachedProgram {
    let interface: Interface
    let info: ProgramInfo
    let config: BPFMap
    let counters: BPFMap

    /// Finds the program in glb-redirect's tc slot on `interface`. Throws `.notAttached` if
    /// the slot is empty and `.foreignProgram` if another program sits there.
    static func find(on interface: Interface) throws -> AttachedProgram {
        let tc = TCIngress(interface: interface)
        // The program can be replaced between reading its id and opening it: look again.
        for _ in 0..<3 {
            guard let id = try tc.attachedProgramID() else {
                throw LoaderError.notAttached(interface: interface.name)
            }
            guard let info = try ProgramInfo.read(id: id) else { continue }
            guard info.isGLBRedirect else {
                throw LoaderError.foreignProgram(interface: interface.name, programID: id, name: info.name)
            }
            var config: BPFMap?
            var counters: BPFMap?
            for mapID in info.mapIDs {
                let map = try BPFMap.open(id: mapID)
                if map.name == ProgramNames.config { config = map }
                if map.name == ProgramNames.counters { counters = map }
            }
            guard let config, let counters else {
                throw LoaderError.objectInvalid(
                    source: "program \(info.name) (id \(id)) on \(interface.name)",
                    detail: "it has no map \(config == nil ? ProgramNames.config : ProgramNames.counters)",
                    libbpf: [])
            }
            return AttachedProgram(interface: interface, info: info, config: config, counters: counters)
        }
        throw LoaderError.system(action: "reading the program on \(interface.name): it keeps changing", errno: EAGAIN)
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
