import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// Operations on one interface's tcx ingress hook (Linux 6.6 and later), through libbpf.
///
/// tcx runs a list of programs before any clsact filter, without a qdisc or a classifier
/// in between, which costs a packet less than a clsact filter does. Programs there have no
/// handle or priority: glb-redirect's is the one named glb_redirect.
struct TCXIngress {
    let interface: Interface

    /// The ids of the programs on the hook in the order they run, or nil if this kernel has
    /// no tcx.
    func programIDs() throws -> [UInt32]? {
        var capacity: UInt32 = 16
        while true {
            var ids = [UInt32](repeating: 0, count: Int(capacity))
            var count = capacity
            let rc = glb_tcx_query(interface.index, &ids, &count)
            if rc >= 0 { return Array(ids.prefix(Int(min(count, capacity)))) }
            let code = libbpfErrno(rc)
            // Kernels without tcx do not know its attach type.
            if code == EINVAL { return nil }
            if code == ENOSPC, count > capacity {
                capacity = count
                continue
            }
            throw LoaderError.refused("listing the tcx programs of \(interface.name)", errno: code, needs: Needs.list)
        }
    }

    /// The glb-redirect programs on the hook (normally one), opened. Needs CAP_SYS_ADMIN
    /// whenever the hook holds any program: only the name tells glb-redirect's apart.
    func glbRedirectPrograms() throws -> [ProgramInfo] {
        // A program can be replaced or detached between the query and opening it by id:
        // then the list is stale, and is read again.
        for _ in 0..<3 {
            guard let ids = try programIDs() else { return [] }
            var programs: [ProgramInfo] = []
            var stale = false
            for id in ids {
                let info: ProgramInfo?
                do {
                    info = try ProgramInfo.read(id: id)
                } catch LoaderError.permission {
                    throw LoaderError.permission(
                        action: "telling glb-redirect's program from the \(ids.count) on the tcx hook of \(interface.name)",
                        capabilities: Needs.tell)
                }
                guard let info else {
                    stale = true
                    break
                }
                if info.isGLBRedirect { programs.append(info) }
            }
            if !stale { return programs }
        }
        throw LoaderError.system(action: "reading the tcx programs of \(interface.name): they keep changing", errno: EAGAIN)
    }

    /// Puts the program first on the hook, or in the place of `replacing` in one step (every
    /// packet sees the old program or the new one). Returns the new program's id.
    func attach(programFD: Int32, replacing: ProgramInfo?) throws -> UInt32 {
        let rc = glb_tcx_attach(interface.index, programFD, replacing?.descriptor.raw ?? -1)
        guard rc >= 0 else {
            throw LoaderError.refused("attaching the program to \(interface.name) tcx ingress",
                                      errno: libbpfErrno(rc), needs: Needs.tc)
        }
        return try programID(of: programFD)
    }

    /// Takes the programs off the hook; for each one that was still there, the line that says
    /// so.
    func detach(_ programs: some Sequence<ProgramInfo>) throws -> [String] {
        var lines: [String] = []
        for program in programs {
            let rc = glb_tcx_detach(interface.index, program.descriptor.raw)
            let code = libbpfErrno(rc)
            if rc >= 0 {
                lines.append(Hook.tcx.detached(program.id, from: interface))
            } else if code != ENOENT {
                throw LoaderError.refused("removing program id \(program.id) from \(interface.name) tcx ingress",
                                          errno: code, needs: Needs.tc)
            }
        }
        return lines
    }

    private func programID(of fd: Int32) throws -> UInt32 {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let rc = bpf_obj_get_info_by_fd(fd, &info, &length)
        guard rc >= 0 else {
            throw LoaderError.system(action: "reading the id of the attached program", errno: libbpfErrno(rc))
        }
        return info.id
    }
}
