#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed file operation, with the path and the system's reason.
public struct FileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var reason: String

    public var description: String { "\(path): cannot \(operation): \(reason)" }

    public init(_ path: String, _ operation: String, errno code: Int32) {
        self.init(path, operation, String(cString: strerror(code)))
    }

    public init(_ path: String, _ operation: String, _ reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }
}

/// Whole-file reads and atomic whole-file writes, without Foundation.
public enum FileIO {
    /// True when both paths name the same existing file (same device and inode, links
    /// followed), so that writing one would replace the other: `a.json` and `./a.json`, or a
    /// symbolic link and its target, are the same file; different strings can be.
    public static func isSameFile(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Reads a regular file completely. Files larger than `limit` bytes are refused rather
    /// than read into memory.
    public static func read(path: String, limit: Int) throws(FileError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileError(path, "open", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path, "stat", errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError(path, "read", "not a regular file") }
        guard Int(st.st_size) <= limit else {
            throw FileError(path, "read", "file is \(st.st_size) bytes, more than the \(limit) allowed")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(st.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path, "read", errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= limit else { throw FileError(path, "read", "file grew past the \(limit) bytes allowed") }
        }
        return bytes
    }

    /// Writes all of `bytes` to `fd`, retrying interrupted and partial writes; false on error.
    @discardableResult
    public static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// The process's umask, read from /proc (setting and restoring it with umask(2) would
    /// race with other threads creating files).
    static func currentUmask() -> mode_t {
        guard let status = try? read(path: "/proc/self/status", limit: 1 << 20) else { return 0o022 }
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Umask:") {
            let digits = line.dropFirst(6).filter { $0 != " " && $0 != "\t" }
            return mode_t(digits, radix: 8) ?? 0o022
        }
        return 0o022
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }

    static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
