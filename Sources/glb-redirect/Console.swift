import Foundation
import GLBCore

#if canImport(Glibc)
import Glibc
#endif

enum Console {
    static func out(_ text: String) {
        print(text)
    }

    /// Text that ends its own lines (a Prometheus exposition), written as it is.
    static func write(_ text: String) {
        print(text, terminator: "")
    }

    static func error(_ text: String) {
        FileIO.writeAll(fd: STDERR_FILENO, Array((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}

/// Just enough JSON for glb-redirect's output: values are given already encoded.
enum JSON {
    static func object(_ members: [(String, String)]) -> String {
        let lines = members.map { "  \(string($0.0)): \(indentNested($0.1))" }
        return "{\n" + lines.joined(separator: ",\n") + "\n}"
    }

    static func string(_ text: String) -> String {
        JSONValue.quoted(text)
    }

    /// Nested objects keep their own lines, indented one level more.
    private static func indentNested(_ value: String) -> String {
        value.replacingOccurrences(of: "\n", with: "\n  ")
    }
}
