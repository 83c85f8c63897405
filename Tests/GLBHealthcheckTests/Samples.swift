import GLBCore
@testable import GLBHealthcheck

/// Source tables and helpers shared by the tests.
enum Samples {
    static let hashKey = "00112233445566778899aabbccddeeff"
    static let seed = "0123456789abcdef0123456789abcdef"

    /// A table object as JSON text.
    static func table(name: String? = "web", backends: [String], extra: String = "") -> String {
        let nameMember = name.map { "\"name\": \"\($0)\", " } ?? ""
        return """
            {\(nameMember)"hash_key": "\(hashKey)", "seed": "\(seed)",
             "binds": [{"ip": "192.0.2.1", "proto": "tcp", "port": 80}]\(extra),
             "backends": [\(backends.joined(separator: ", "))]}
            """
    }

    /// A whole source file: optional top-level healthchecks block, then the tables.
    static func source(healthchecks: String? = nil, tables: [String]) -> String {
        let block = healthchecks.map { "\"healthchecks\": \($0),\n" } ?? ""
        return "{\(block)\"tables\": [\(tables.joined(separator: ",\n"))]}"
    }

    static func loaded(_ text: String, file: String = "src.json") throws(ConfigErrors) -> Loaded<SourceTable> {
        try SourceTable.decode(bytes: Array(text.utf8), file: file)
    }

    static func decode(_ text: String, file: String = "src.json") throws(ConfigErrors) -> SourceTable {
        try loaded(text, file: file).config
    }

    /// The error descriptions of a source that must not load.
    static func errors(_ text: String, file: String = "src.json") -> [String] {
        do {
            _ = try decode(text, file: file)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    static func ip(_ text: String) -> IPAddress { IPAddress(text)! }
}
