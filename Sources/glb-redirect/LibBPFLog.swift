import CLibBPF
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// libbpf explains many failures (a map it could not create, a relocation it could not do)
/// only through its print callback, which by default writes to stderr in the middle of our
/// own output. Its messages are kept here instead: shown with an error that needs them, or
/// all of them with --verbose.
enum LibBPFLog {
    private static let messages = Mutex<[String]>([])
    private static let keepDebug = Mutex(false)

    /// Keep libbpf's debug messages too (every step of a load), for --verbose.
    static func includeDebugMessages() {
        keepDebug.withLock { $0 = true }
    }

    fileprivate static var wantsDebug: Bool {
        keepDebug.withLock { $0 }
    }

    static func capture() {
        _ = libbpf_set_print(libbpfPrint)
    }

    /// The messages so far, oldest first, and forget them.
    static func take() -> [String] {
        messages.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
    }

    /// Runs `body` and hands back the messages it caused, apart from the others: the caller
    /// knows whether they explain an error or describe a failure it expected (a qdisc that
    /// exists already, a filter that is not there).
    static func during<T>(_ body: () throws -> T) rethrows -> (T, [String]) {
        let mark = messages.withLock { $0.count }
        let result = try body()
        let caused = messages.withLock { lines -> [String] in
            guard lines.count > mark else { return [] }
            defer { lines.removeSubrange(mark...) }
            return Array(lines[mark...])
        }
        return (result, caused)
    }

    fileprivate static func append(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        messages.withLock { $0.append(contentsOf: lines) }
    }
}

private func libbpfPrint(
    level: libbpf_print_level, format: UnsafePointer<CChar>?, arguments: CVaListPointer?
) -> Int32 {
    // Debug messages describe every step of a successful load: kept only when asked for.
    guard level != LIBBPF_DEBUG || LibBPFLog.wantsDebug, let format, let arguments else { return 0 }
    var buffer = [CChar](repeating: 0, count: 2048)
    let length = vsnprintf(&buffer, buffer.count, format, arguments)
    guard length > 0 else { return 0 }
    LibBPFLog.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    return length
}
