import CLibBPF

#if canImport(Glibc)
import Glibc
#endif

/// One rtnetlink dump request (NLM_F_DUMP) and the messages the kernel answers with: the
/// loader asks the kernel directly what libbpf cannot tell it (the tc filters on a hook, the
/// namespace ids it knows).
enum RTNetlinkDump {
    private static let sequence: UInt32 = 1

    /// Sends a dump request of `type` with `body` (the family header that follows the
    /// nlmsghdr) and returns the body of every answer of type `answer`, up to NLMSG_DONE.
    static func run(type: Int32, body: [UInt8], answer: Int32, action: String) throws -> [[UInt8]] {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
        guard fd >= 0 else {
            throw LoaderError.system(action: "opening an rtnetlink socket", errno: errno)
        }
        let socketFD = FileDescriptor(fd)
        try send(request(type: type, body: body), on: socketFD)
        return try receive(answer: answer, on: socketFD, action: action)
    }

    private static func request(type: Int32, body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        put32(UInt32(MemoryLayout<nlmsghdr>.size + body.count))
        put16(UInt16(type))
        put16(UInt16(NLM_F_REQUEST | NLM_F_DUMP))
        put32(sequence)
        put32(0)  // to the kernel
        return bytes + body
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

    private static func receive(answer: Int32, on fd: FileDescriptor, action: String) throws -> [[UInt8]] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var answers: [[UInt8]] = []
        let headerSize = MemoryLayout<nlmsghdr>.size
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(fd.raw, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                if errno == EINTR { continue }
                throw LoaderError.system(action: action, errno: errno)
            }
            var offset = 0
            while offset + headerSize <= received {
                let header = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: nlmsghdr.self) }
                let length = Int(header.nlmsg_len)
                guard length >= headerSize, offset + length <= received else {
                    throw LoaderError.system(action: action, errno: EPROTO)
                }
                switch Int32(header.nlmsg_type) {
                case NLMSG_DONE:
                    return answers
                case NLMSG_ERROR:
                    let code = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + headerSize, as: Int32.self) }
                    if code == 0 { return answers }
                    throw LoaderError.system(action: action, errno: -code)
                case answer where header.nlmsg_seq == sequence:
                    answers.append(Array(buffer[(offset + headerSize)..<(offset + length)]))
                default:
                    break
                }
                offset += (length + 3) & ~3
            }
        }
    }
}
