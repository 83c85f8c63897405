import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The buffer the kernel writes the verifier's log into when it rejects the program.
/// 16 MiB: a full level-1 log of a program this size fits; the pages are only touched
/// when the kernel writes a log.
final class VerifierLogBuffer {
    let capacity = 16 << 20
    let buffer: UnsafeMutablePointer<CChar>

    init() {
        buffer = .allocate(capacity: capacity)
        buffer[0] = 0
    }

    deinit {
        buffer.deallocate()
    }

    /// What the kernel wrote, or nil if it wrote nothing.
    var text: String? {
        buffer[0] == 0 ? nil : String(cString: buffer)
    }
}

enum VerifierLogFile {
    /// Writes the log to `path`, or to a new file in $TMPDIR (or /tmp); returns the path.
    static func save(_ text: String, to path: String?) throws -> String {
        if let path {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/glb-redirect-verifier-XXXXXX.log".utf8CString)
        let fd = mkstemps(&template, 4)
        guard fd >= 0 else {
            throw LoaderError.system(action: "creating a file for the verifier log in \(directory)", errno: errno)
        }
        let created = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
        return created
    }
}
