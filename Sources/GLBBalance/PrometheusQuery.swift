import GLBCore

/// Prometheus' HTTP API for instant queries (`GET /api/v1/query?query=…`), the part the loop
/// uses: the request path and the reading of a vector result.
public enum PrometheusQuery {
    /// The path and query string of an instant query.
    public static func path(for query: String) -> String {
        "/api/v1/query?query=" + percentEncoded(query)
    }

    /// Each series' value by the value of `label`, from a response body. Throws with
    /// Prometheus' own error, or a description of what was wrong with the answer.
    public static func vector(_ body: [UInt8], label: String) throws(LoadError) -> [String: Double] {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw LoadError("Prometheus answered something that is not JSON (\(error))")
        }
        guard json["status"] == .string("success") else {
            let kind = json["errorType"].flatMap { if case .string(let s) = $0 { return s } else { return nil } } ?? "error"
            let message = json["error"].flatMap { if case .string(let s) = $0 { return s } else { return nil } } ?? "no message"
            throw LoadError("Prometheus: \(kind): \(message)")
        }
        guard let data = json["data"], data["resultType"] == .string("vector"), case .array(let results)? = data["result"] else {
            throw LoadError("the query must give an instant vector (one value per backend)")
        }
        var values: [String: Double] = [:]
        for result in results {
            guard case .string(let key)? = result["metric"]?[label] else {
                throw LoadError("a series of the result has no label \(label) (address_label)")
            }
            guard case .array(let pair)? = result["value"], pair.count == 2, case .string(let text) = pair[1], let value = Double(text) else {
                throw LoadError("a series of the result has no value")
            }
            if values[key] != nil { throw LoadError("two series of the result have \(label)=\"\(key)\"") }
            values[key] = value
        }
        return values
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += "%" + Hex.byte(byte).uppercased()
            }
        }
        return out
    }
}
