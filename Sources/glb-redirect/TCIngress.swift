import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// The one place glb-redirect occupies in tc: a filter at a fixed handle and priority on
/// the clsact ingress hook. Fixed, so that any process can find, replace or remove it
/// without keeping state; unusual, so that it does not collide with filters of other tools
/// (those commonly use handle 1, priority 1, or tc's automatic priorities from 49152 down).
/// Ingress filters run in priority order, so this one sees packets before those.
enum TCSlot {
    static let handle: UInt32 = 0x474c42  // "GLB"
    static let priority: UInt32 = 0x4742
    static var handleText: String { "0x" + String(handle, radix: 16) }
}

/// tc operations on one interface's clsact ingress hook, through libbpf.
struct TCIngress {
    let interface: Interface

    /// Adds the clsact qdisc if the interface has none; returns whether it was added here.
    func ensureClsact() throws -> Bool {
        let (rc, messages) = LibBPFLog.during { glb_tc_hook_create(interface.index, BPF_TC_INGRESS) }
        if rc == 0 { return true }
        let code = libbpfErrno(rc)
        if code == EEXIST { return false }
        throw tcError("adding the clsact qdisc to \(interface.name)", code, messages)
    }

    /// Removes the clsact qdisc, and with it every filter on both of its hooks.
    func removeClsact() throws {
        let both = bpf_tc_attach_point(BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
        let (rc, messages) = LibBPFLog.during { glb_tc_hook_destroy(interface.index, both) }
        let code = libbpfErrno(rc)
        guard rc >= 0 || code == ENOENT || code == EINVAL else {
            throw tcError("removing the clsact qdisc of \(interface.name)", code, messages)
        }
    }

    /// The id of the program in glb-redirect's slot, or nil if the slot is empty.
    func attachedProgramID() throws -> UInt32? {
        var programID: UInt32 = 0
        let (rc, messages) = LibBPFLog.during {
            glb_tc_query(interface.index, TCSlot.handle, TCSlot.priority, &programID)
        }
        if rc >= 0 { return programID }
        let code = libbpfErrno(rc)
        // ENOENT: no filter at this priority or handle. EINVAL: the kernel's answer when the
        // interface (already resolved) has no clsact qdisc to look in.
        if code == ENOENT || code == EINVAL { return nil }
        throw tcError("looking up the tc filter of \(interface.name)", code, messages)
    }

    /// Puts the program in glb-redirect's slot, replacing whatever program is there in one
    /// step (cls_bpf swaps the program under RCU: every packet sees the old or the new one).
    /// Returns the new program's id.
    func attach(programFD: Int32) throws -> UInt32 {
        var programID: UInt32 = 0
        let (rc, messages) = LibBPFLog.during {
            glb_tc_attach(interface.index, TCSlot.handle, TCSlot.priority, programFD,
                          BPF_TC_F_REPLACE.rawValue, &programID)
        }
        guard rc >= 0 else {
            throw tcError("attaching the program to \(interface.name) ingress", libbpfErrno(rc), messages)
        }
        return programID
    }

    /// Removes glb-redirect's filter. Returns false if there was none.
    func detach() throws -> Bool {
        let (rc, messages) = LibBPFLog.during {
            glb_tc_detach(interface.index, TCSlot.handle, TCSlot.priority)
        }
        if rc >= 0 { return true }
        let code = libbpfErrno(rc)
        if code == ENOENT || code == EINVAL { return false }
        throw tcError("removing the tc filter from \(interface.name)", code, messages)
    }

    /// The kernel explains a refused tc change in an extended ack, which libbpf prints.
    private func tcError(_ action: String, _ code: Int32, _ messages: [String]) -> LoaderError {
        let marker = "Kernel error message: "
        let reasons = messages.compactMap { line in
            line.range(of: marker).map { String(line[$0.upperBound...]) }
        }
        let detail = reasons.isEmpty ? "" : " (the kernel says: \(reasons.joined(separator: "; ")))"
        return .refused(action + detail, errno: code, needs: Needs.tc)
    }
}

/// glb-redirect's clsact filter slot (TCSlot): who is in it, and taking glb-redirect out.
enum ClsactSlot {
    /// The id of the glb-redirect program in the slot, or nil if the slot is empty. Refuses
    /// (`.foreignProgram`) a program of another tool that happens to use the slot. Without
    /// CAP_SYS_ADMIN the name cannot be read: the slot is glb-redirect's own, so it counts as
    /// glb-redirect's then (replacing or removing a filter needs only CAP_NET_ADMIN).
    static func occupant(_ tc: TCIngress) throws -> UInt32? {
        guard let id = try tc.attachedProgramID() else { return nil }
        do {
            if let info = try ProgramInfo.read(id: id), !info.isGLBRedirect {
                throw LoaderError.foreignProgram(interface: tc.interface.name, programID: id, name: info.name)
            }
        } catch LoaderError.permission {
        }
        return id
    }

    /// The glb-redirect program in the slot, opened; nil if the slot is empty. Throws
    /// `.foreignProgram` if another program sits there.
    static func program(on interface: Interface) throws -> ProgramInfo? {
        let tc = TCIngress(interface: interface)
        // The program can be replaced between reading its id and opening it: look again.
        for _ in 0..<3 {
            guard let id = try tc.attachedProgramID() else { return nil }
            guard let info = try ProgramInfo.read(id: id) else { continue }
            guard info.isGLBRedirect else {
                throw LoaderError.foreignProgram(interface: interface.name, programID: id, name: info.name)
            }
            return info
        }
        throw LoaderError.system(action: "reading the program on \(interface.name): it keeps changing", errno: EAGAIN)
    }

    /// Removes glb-redirect's filter from the slot, and then the clsact qdisc if nothing
    /// else uses it and `keepQdisc` is not set. Returns what it did, or nil if the slot was
    /// empty. Throws `.foreignProgram` if another program sits in the slot.
    static func remove(from interface: Interface, keepQdisc: Bool) throws -> String? {
        let tc = TCIngress(interface: interface)
        guard let id = try occupant(tc), try tc.detach() else { return nil }

        var line = Hook.clsact.detached(id, from: interface)
        // A filter that another tool adds between the count and the removal would go with
        // the qdisc: where tools share clsact and come and go, --keep-qdisc avoids that.
        if !keepQdisc {
            let others = try TCFilterList.count(interface: interface, parent: TCFilterList.ingressParent)
                + TCFilterList.count(interface: interface, parent: TCFilterList.egressParent)
            if others == 0 {
                try tc.removeClsact()
                line += "; removed the clsact qdisc (no filters left on it)"
            } else {
                line += "; kept the clsact qdisc (other filters use it)"
            }
        }
        return line
    }
}
