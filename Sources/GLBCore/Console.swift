#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the command-line tools print: results on stdout (buffered, as `print` does), messages
/// on stderr (written at once, so they are not held back behind a slow stdout).
public enum Console {
    public static func out(_ text: String, terminator: String = "\n") {
        print(text, terminator: terminator)
    }

    /// Text that ends its own lines (a Prometheus exposition, a serialized JSON document),
    /// written as it is.
    public static func write(_ text: String) {
        print(text, terminator: "")
    }

    /// `json` as a document: two-space indentation and a final newline.
    public static func out(_ json: JSONValue) {
        write(json.serialized())
    }

    public static func error(_ text: String) {
        FileIO.writeAll(fd: STDERR_FILENO, Array((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
