#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Address families with the numbers GLB's binary table uses (IANA address family numbers).
public enum AddressFamily: UInt32, Sendable, Hashable, CustomStringConvertible {
    case ipv4 = 1
    case ipv6 = 2

    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }
    public var byteCount: Int { self == .ipv4 ? 4 : 16 }
    public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
}

/// An IPv4 or IPv6 address, kept as network-order bytes.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let family: AddressFamily
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    public let bytes: [UInt8]

    public init?(family: AddressFamily, bytes: [UInt8]) {
        guard bytes.count == family.byteCount else { return nil }
        self.family = family
        self.bytes = bytes
    }

    /// Parses dotted-quad IPv4 or textual IPv6 (as inet_pton does: no prefix, no zone).
    public init?(_ text: String) {
        if text.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
            self.family = .ipv6
            self.bytes = withUnsafeBytes(of: &a) { Array($0) }
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
            self.family = .ipv4
            self.bytes = withUnsafeBytes(of: &a) { Array($0) }
        }
    }

    /// An IPv4 address from its value in host order (192.0.2.1 = 0xC000_0201).
    public init(ipv4 value: UInt32) {
        self.family = .ipv4
        self.bytes = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    /// The IPv4 address as a host-order integer; nil for IPv6.
    public var ipv4Value: UInt32? {
        guard family == .ipv4 else { return nil }
        return bytes.reduce(0) { ($0 << 8) | UInt32($1) }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family == .ipv4 ? AF_INET : AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        precondition(ok, "inet_ntop cannot fail on a valid address")
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with every bit after the first `length` cleared.
    public func masked(to length: Int) -> IPAddress {
        IPAddress(family: family, bytes: IPAddress.mask(bytes, length))!
    }

    static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let bitsHere = max(0, min(8, length - 8 * i))
            return bitsHere == 8 ? b : b & ~(UInt8(0xff) >> bitsHere)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.family != b.family { return a.family.rawValue < b.family.rawValue }
        return a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}
