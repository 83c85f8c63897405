import GLBCore
import GLBHealthcheck

#if canImport(Glibc)
import Glibc
#endif

/// A connected UDP socket (IPv4 or IPv6, as the backend's address): the kernel picks the
/// route and the source address toward the backend, which the tunnel check then uses as the
/// inner packet's source.
final class UDPSender {
    private let fd: Int32
    let localAddress: IPAddress
    let localPort: UInt16
    private let peer: String

    init(connectingTo address: IPAddress, port: UInt16) throws(ProbeFailure) {
        peer = address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        let domain = address.family == .ipv6 ? AF_INET6 : AF_INET
        let fd = socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProbeFailure("cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        var remote = sockaddr_storage()
        let length = UDPSender.fill(&remote, address: address, port: port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ProbeFailure("cannot send to \(peer): \(reason)")
        }
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        let reason = named == 0 ? "unexpected address family" : String(cString: strerror(errno))
        guard named == 0, let found = UDPSender.read(local, family: address.family) else {
            Glibc.close(fd)
            throw ProbeFailure("cannot find the local address toward \(peer): \(reason)")
        }
        self.fd = fd
        localAddress = found.address
        localPort = found.port
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

    /// Writes address:port into storage as a sockaddr_in or sockaddr_in6; returns its length.
    private static func fill(_ storage: inout sockaddr_storage, address: IPAddress, port: UInt16) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw -> socklen_t in
            if address.family == .ipv6 {
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address.bytes) }
                withUnsafeBytes(of: sin6) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeBytes(of: sin) { raw.copyMemory(from: $0) }
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        }
    }

    /// The address and port of a sockaddr_in or sockaddr_in6 of the given family.
    private static func read(_ storage: sockaddr_storage, family: AddressFamily) -> (address: IPAddress, port: UInt16)? {
        withUnsafeBytes(of: storage) { raw -> (address: IPAddress, port: UInt16)? in
            if family == .ipv6 {
                guard storage.ss_family == sa_family_t(AF_INET6) else { return nil }
                let sin6 = raw.loadUnaligned(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
                return IPAddress(family: .ipv6, bytes: bytes).map { (address: $0, port: UInt16(bigEndian: sin6.sin6_port)) }
            }
            guard storage.ss_family == sa_family_t(AF_INET) else { return nil }
            let sin = raw.loadUnaligned(as: sockaddr_in.self)
            return (address: IPAddress(ipv4: UInt32(bigEndian: sin.sin_addr.s_addr)), port: UInt16(bigEndian: sin.sin_port))
        }
    }
}
