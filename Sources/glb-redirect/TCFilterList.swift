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
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else {
            throw LoaderError.system(action: "opening an rtnetlink socket", errno: errno)
        }
        let socketFD = FileDescriptor(fd)
        try send(request(interface: interface, parent: parent), on: socketFD)
        return try receiveFilters(on: socketFD, action: "listing the tc filters of \(interface.name)")
    }

    private static let sequence: UInt32 = 1

    /// struct nlmsghdr + struct tcmsg, asking for a dump of the filters under `parent`.
    private static func request(interface: Interface, parent: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        let length = UInt32(MemoryLayout<nlmsghdr>.size + MemoryLayout<tcmsg>.size)
        put32(length)
        put16(UInt16(RTM_GETTFILTER))
        put16(UInt16(NLM_F_REQUEST | NLM_F_DUMP))
        put32(sequence)
        put32(0)  // to the kernel
        bytes += [UInt8(AF_UNSPEC), 0, 0, 0]  // tcm_family, pads
        put32(UInt32(bitPattern: interface.index))
        put32(0)  // tcm_handle
        put32(parent)
        put32(0)  // tcm_info
        return bytes
    }

    private static func send(_ message: [UInt8], on fd: FileDescriptor) throws {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let sent = message.withUnsafeBytes { body in
            withUnsafePointer(to: &kernel) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd.raw, body.baseAddress, body.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
        }
        guard sent == message.count else {
            throw LoaderError.system(action: "sending an rtnetlink request", errno: sent < 0 ? errno : EIO)
        }
    }

    /// Reads the dump up to NLMSG_DONE and counts its RTM_NEWTFILTER messages.
    private static func receiveFilters(on fd: FileDescriptor, action: String) throws -> Int {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var filters = 0
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                if errno == EINTR { continue }
                throw LoaderError.system(action: action, errno: errno)
            }
            var offset = 0
            while offset + MemoryLayout<nlmsghdr>.size <= received {
                let header = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self) }
                let length = Int(header.nlmsg_len)
                guard length >= MemoryLayout<nlmsghdr>.size, offset + length <= received else {
                    throw LoaderError.system(action: action, errno: EPROTO)
                }
                switch Int32(header.nlmsg_type) {
                case NLMSG_DONE:
                    return filters
                case NLMSG_ERROR:
                    let code = buffer.withUnsafeBytes {
                        $0.loadUnaligned(fromByteOffset: offset + MemoryLayout<nlmsghdr>.size, as: Int32.self)
                    }
                    if code == 0 { return filters }
                    throw LoaderError.system(action: action, errno: -code)
                case Int32(RTM_NEWTFILTER):
                    if header.nlmsg_seq == sequence { filters += 1 }
                default:
                    break
                }
                offset += (length + 3) & ~3
            }
        }
    }
}
