#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor that is closed when the last reference goes, so that no error path
/// leaks a program or map fd.
final class FileDescriptor: Sendable {
    let raw: Int32

    init(_ raw: Int32) {
        self.raw = raw
    }

    deinit {
        close(raw)
    }
}
