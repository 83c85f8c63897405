import GLBCore

/// The output table: the source document with each balanced backend's `weight`, and
/// `previous_weight` on the backends whose weight the last step changed. Everything else is
/// kept as written, in the source's key order.
public enum WeightedDocument {
    /// - Parameters:
    ///   - weights: per table index, the weight of each backend by address.
    ///   - previous: per table index, the previous weight of the backends that changed.
    public static func render(_ source: JSONValue, weights: [Int: [String: Int]], previous: [Int: [String: Int]]) -> JSONValue {
        guard case .object(var root) = source, case .array(var tables)? = root["tables"] else { return source }
        for (t, table) in tables.enumerated() {
            guard let tableWeights = weights[t], case .object(var object) = table, case .array(var backends)? = object["backends"] else { continue }
            for (b, backend) in backends.enumerated() {
                guard case .object(var o) = backend, case .string(let ip)? = o["ip"],
                      let address = IPAddress(ip)?.description, let weight = tableWeights[address] else { continue }
                o["weight"] = .integer(Int64(weight))
                o["previous_weight"] = previous[t]?[address].map { .integer(Int64($0)) }
                backends[b] = .object(o)
            }
            object["backends"] = .array(backends)
            tables[t] = .object(object)
        }
        root["tables"] = .array(tables)
        return .object(root)
    }
}
