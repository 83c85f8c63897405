import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// Counts the tc filters on an interface's clsact hooks with an rtnetlink dump. libbpf can
/// only look up one filter by handle and priority, but `detach` must know whether anything
/// else still uses the clsact qdisc before it removes it.
enum TCFilterList {
    /// clsact's ingress and egress hooks, as tc parents (TC_H_CLSACT:TC_H_MIN_INGRESS/EGRESS).
    static let ingressParent: UInt32 = 0xffff_fff2
    static let egressParent: UInt32 = 0xffff_fff3

    /// The number of filter entries the kernel lists under `parent` (0 without a clsact qdisc).
    static func count(interface: Interface, parent: UInt32) throws -> Int {
        try RTNetlinkDump.run(type: Int32(RTM_GETTFILTER), body: tcmsg(interface: interface, parent: parent),
                              answer: Int32(RTM_NEWTFILTER), action: "listing the tc filters of \(interface.name)").count
    }

    /// struct tcmsg, asking for the filters under `parent`.
    private static func tcmsg(interface: Interface, parent: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(AF_UNSPEC), 0, 0, 0]  // tcm_family, pads
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        put32(UInt32(bitPattern: interface.index))
        put32(0)  // tcm_handle
        put32(parent)
        put32(0)  // tcm_info
        return bytes
    }
}
