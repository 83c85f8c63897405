import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// A loaded program found by id, with the maps it uses: how a process that did not load
/// glb-redirect (status, stats, detach, a later attach) reaches its maps without pinning.
struct ProgramInfo {
    let id: UInt32
    let name: String
    let mapIDs: [UInt32]
    /// Keeps the program loaded while it is looked at; tcx detaches and replaces by fd.
    let descriptor: FileDescriptor

    /// Reads the program's name and map ids. Throws `.permission` without CAP_SYS_ADMIN, and
    /// returns nil if the program is gone (replaced or detached since its id was read).
    static func read(id: UInt32) throws -> ProgramInfo? {
        guard let fd = try openBPFObject("program", id: id, missingIsNil: true, bpf_prog_get_fd_by_id) else { return nil }

        // Twice: first to learn how many maps it uses, then to read their ids.
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try check(bpf_obj_get_info_by_fd(fd.raw, &info, &length), id: id)
        let name = withUnsafeBytes(of: info.name) { cString(in: $0) }
        var mapIDs = [UInt32](repeating: 0, count: Int(info.nr_map_ids))
        if !mapIDs.isEmpty {
            try mapIDs.withUnsafeMutableBufferPointer { ids in
                var again = bpf_prog_info()
                again.nr_map_ids = UInt32(ids.count)
                again.map_ids = UInt64(UInt(bitPattern: ids.baseAddress))
                var length = UInt32(MemoryLayout<bpf_prog_info>.size)
                try check(bpf_obj_get_info_by_fd(fd.raw, &again, &length), id: id)
            }
        }
        return ProgramInfo(id: id, name: name, mapIDs: mapIDs, descriptor: fd)
    }

    private static func check(_ rc: Int32, id: UInt32) throws {
        guard rc >= 0 else {
            throw LoaderError.system(action: "reading the description of program id \(id)", errno: libbpfErrno(rc))
        }
    }

    var isGLBRedirect: Bool {
        name == ProgramNames.program
    }
}
