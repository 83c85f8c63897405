import GLBCore

/// The checked forwarding table: the source document, key order and all, with each backend's
/// `healthy` set. Nothing else is changed, so the destination differs from the source only
/// where health is concerned, and `glb-director-cli build-config` reads it as it would the
/// source.
public enum DestinationTable {
    /// The document with `healthy` set on every backend object of every table. A backend
    /// without `healthy` gets it right after `state` (or `ip`), where GLB writes it.
    /// - Parameter healthy: the value for table `t`, backend `b` (indices in the document).
    public static func fill(_ document: JSONValue, healthy: (_ table: Int, _ backend: Int) -> Bool) -> JSONValue {
        guard case .object(var root) = document, case .array(var tables)? = root["tables"] else { return document }
        for t in tables.indices {
            guard case .object(var table) = tables[t], case .array(var backends)? = table["backends"] else { continue }
            for b in backends.indices {
                guard case .object(let backend) = backends[b] else { continue }
                backends[b] = .object(setting(backend, healthy: healthy(t, b)))
            }
            table["backends"] = .array(backends)
            tables[t] = .object(table)
        }
        root["tables"] = .array(tables)
        return .object(root)
    }

    /// The file's bytes: two-space indentation, keys in source order, a final newline.
    public static func bytes(_ document: JSONValue) -> [UInt8] {
        Array(document.serialized().utf8)
    }

    static func setting(_ backend: JSONObject, healthy: Bool) -> JSONObject {
        var object = backend
        if object["healthy"] != nil {
            object["healthy"] = .bool(healthy)
            return object
        }
        var members = backend.members
        let anchor = members.firstIndex { $0.key == "state" } ?? members.firstIndex { $0.key == "ip" }
        let position = anchor.map { $0 + 1 } ?? members.count
        members.insert((key: "healthy", value: .bool(healthy)), at: position)
        return JSONObject(members)
    }
}
