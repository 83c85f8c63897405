import GLBCore

/// One check of one backend: what to probe and where.
///
/// Targets are compared by value: a backend listed in several tables with the same check is
/// probed once per round, and every listing sees the same result (as GLB does).
public struct CheckTarget: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The kinds of check, in the order a backend's checks are run and reported.
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        /// `GET http_uri` must answer 200.
        case http
        /// A TCP connection must be accepted.
        case tcp
        /// A GUE-encapsulated ICMP echo to the backend's own address must be answered: the
        /// backend decapsulates what the director sends it.
        case gue
        /// GLB's legacy tunnel check: the same echo inside GRE-in-UDP (FOU), for backends
        /// still decapsulating with GLB's old FOU set-up.
        case fou

        public var isTunnel: Bool { self == .gue || self == .fou }

        public static func < (a: Kind, b: Kind) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var kind: Kind
    public var address: IPAddress
    public var port: UInt16
    /// The request path of an HTTP check (`http_uri`, default "/"); nil for other kinds.
    public var uri: String?

    public init(kind: Kind, address: IPAddress, port: UInt16, uri: String? = nil) {
        self.kind = kind
        self.address = address
        self.port = port
        self.uri = kind == .http ? (uri ?? "/") : nil
    }

    /// "10.0.0.1:80" or "[2001:db8::1]:80".
    public var hostPort: String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// "http://10.0.0.1:80/health", "tcp 10.0.0.1:53", "gue 10.0.0.1:19523".
    public var description: String {
        switch kind {
        case .http: return "http://\(hostPort)\(uri ?? "/")"
        default: return "\(kind.rawValue) \(hostPort)"
        }
    }

    public static func < (a: CheckTarget, b: CheckTarget) -> Bool {
        if a.address != b.address { return a.address < b.address }
        if a.kind != b.kind { return a.kind < b.kind }
        if a.port != b.port { return a.port < b.port }
        return (a.uri ?? "") < (b.uri ?? "")
    }
}

/// What identifies a checked backend across rounds and source reloads: its address and the
/// checks it is given. The same address with the same checks in two tables is one backend
/// with one health; changing a backend's checks starts its health afresh.
public struct BackendKey: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    /// In `CheckTarget.Kind` order.
    public var checks: [CheckTarget]

    public init(address: IPAddress, checks: [CheckTarget]) {
        self.address = address
        self.checks = checks.sorted { $0.kind < $1.kind }
    }

    public var description: String {
        "\(address) (\(checks.map(\.description).joined(separator: ", ")))"
    }
}
