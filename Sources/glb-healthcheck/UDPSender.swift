import GLBCore
import GLBHealthcheck

#if canImport(Glibc)
import Glibc
#endif

/// A connected IPv4 UDP socket: the kernel picks the route and the source address toward the
/// backend, which the tunnel check then uses as the inner packet's source.
final class UDPSender {
    private let fd: Int32
    let localAddress: IPAddress
    let localPort: UInt16
    private let peer: String

    init(connectingTo address: IPAddress, port: UInt16) throws(ProbeFailure) {
        peer = "\(address):\(port)"
        guard let value = address.ipv4Value else {
            throw ProbeFailure("the tunnel carries IPv4 only: cannot check the IPv6 backend \(address)")
        }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProbeFailure("cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        remote.sin_addr.s_addr = value.bigEndian
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ProbeFailure("cannot send to \(peer): \(reason)")
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ProbeFailure("cannot find the local address toward \(peer): \(reason)")
        }
        self.fd = fd
        localAddress = IPAddress(ipv4: UInt32(bigEndian: local.sin_addr.s_addr))
        localPort = UInt16(bigEndian: local.sin_port)
    }

    deinit {
        Glibc.close(fd)
    }

    /// Sends one datagram without blocking.
    func send(_ bytes: [UInt8]) throws(ProbeFailure) {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        guard sent == bytes.count else {
            throw ProbeFailure("cannot send to \(peer): \(sent < 0 ? String(cString: strerror(errno)) : "short write")")
        }
    }
}
