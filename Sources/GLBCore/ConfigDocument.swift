/// The first step of reading any configuration file: its bytes as JSON, with an unreadable
/// file or a syntax error reported as one issue that names the file.
public enum ConfigDocument {
    /// Reads `path` (at most `limit` bytes) and parses it.
    public static func read(path: String, limit: Int) throws(ConfigErrors) -> JSONValue {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path: path, limit: limit)
        } catch {
            // The issue names the file already: the message is what went wrong with it.
            throw ConfigErrors([ConfigIssue(.error, file: path, message: "cannot \(error.operation): \(error.reason)")])
        }
        return try parse(bytes, file: path)
    }

    /// Parses configuration text; `file` names it in messages.
    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigErrors) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw ConfigErrors([ConfigIssue(.error, file: file, message: "invalid JSON at \(error)")])
        }
    }
}
