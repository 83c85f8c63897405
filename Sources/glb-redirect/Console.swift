import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum Console {
    static func out(_ text: String) {
        print(text)
    }

    static func error(_ text: String) {
        let bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// Just enough JSON for glb-redirect's output: values are given already encoded.
enum JSON {
    static func object(_ members: [(String, String)]) -> String {
        let lines = members.map { "  \(string($0.0)): \(indentNested($0.1))" }
        return "{\n" + lines.joined(separator: ",\n") + "\n}"
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Nested objects keep their own lines, indented one level more.
    private static func indentNested(_ value: String) -> String {
        value.replacingOccurrences(of: "\n", with: "\n  ")
    }
}
