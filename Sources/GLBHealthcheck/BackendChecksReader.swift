import GLBCore

/// Reads a backend's `healthchecks` object (GLB's keys):
///
///     "healthchecks": { "http": 80, "http_uri": "/health", "tcp": 443, "gue": 19523 }
///
/// `http`, `tcp`, `gue` and `fou` are ports (1-65535) and each adds one check; `http_uri` is
/// the HTTP check's path (default "/"). A backend needs every one of its checks to pass.
/// `fou` is refused for an IPv6 backend (GLB's FOU tunnel is IPv4 only); `gue` works for both.
enum BackendChecksReader {
    static let portKeys: [(key: String, kind: CheckTarget.Kind)] = [
        ("http", .http), ("tcp", .tcp), ("gue", .gue), ("fou", .fou),
    ]
    static let knownKeys = ["http", "http_uri", "tcp", "gue", "fou"]

    /// The backend's checks in `CheckTarget.Kind` order ([] when it has none), or nil after
    /// reporting an error. `path` is the backend's JSON path, e.g. `backends[2]`.
    static func read(_ value: JSONValue?, address: IPAddress, path: String, _ reader: inout ConfigReader) -> [CheckTarget]? {
        let base = "\(path).healthchecks"
        guard let value else { return [] }
        if case .null = value { return [] }
        guard case .object(let object) = value else {
            reader.error(base, "expected an object such as {\"http\": 80, \"gue\": 19523}, got \(value.kindName)")
            return nil
        }
        reader.warnUnknownKeys(object, known: knownKeys, at: base)

        var ok = true
        var uri: String?
        switch object["http_uri"] {
        case nil, .null?:
            break
        case .string(let text)?:
            if let problem = uriProblem(text) {
                reader.error("\(base).http_uri", problem)
                ok = false
            } else {
                uri = text
            }
            if object["http"] == nil {
                reader.warning("\(base).http_uri", "ignored: there is no \"http\" port to send the request to")
            }
        case let other?:
            reader.error("\(base).http_uri", "expected a path such as \"/health\", got \(ConfigReader.describe(other))")
            ok = false
        }

        var checks: [CheckTarget] = []
        for (key, kind) in portKeys {
            guard let portValue = object[key] else { continue }
            if case .null = portValue { continue }
            guard case .integer(let port) = portValue, (1...65535).contains(port) else {
                let got = ConfigReader.describe(portValue)
                reader.error("\(base).\(key)", "expected a port number 1-65535, got \(got)")
                ok = false
                continue
            }
            // GUE reaches an IPv6 backend over the IPv6 underlay; GLB's FOU set-up has no such thing.
            if kind == .fou, address.family == .ipv6 {
                reader.error("\(base).\(key)", "fou carries IPv4 only: use \"gue\" to check an IPv6 backend")
                ok = false
                continue
            }
            checks.append(CheckTarget(kind: kind, address: address, port: UInt16(port), uri: uri))
        }
        return ok ? checks : nil
    }

    /// Why a path cannot be sent as an HTTP request target, or nil when it can.
    static func uriProblem(_ text: String) -> String? {
        guard text.hasPrefix("/") else {
            return "expected a path starting with \"/\" (such as \"/health\"), got \"\(text)\""
        }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            return "\"\(text)\" contains spaces, control or non-ASCII characters: percent-encode them"
        }
        return nil
    }
}
