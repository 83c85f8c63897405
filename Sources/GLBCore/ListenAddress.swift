/// Where a metrics server listens: an IP address and a port, `127.0.0.1:19541` or
/// `[::1]:19541` (glb-director's `metrics_address`, glb-healthcheck's `--metrics-address`).
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// The address without brackets.
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }  // IPv6 needs brackets
        }
        guard let address = IPAddress(String(hostPart)),
              !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber),
              let port = Int(portPart), (1...65535).contains(port) else { return nil }
        host = "\(address)"
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
