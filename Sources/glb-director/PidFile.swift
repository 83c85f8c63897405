#if canImport(Glibc)
import Glibc
#endif

/// The director's pid file, claimed before EAL starts and held locked while it runs, so a
/// second instance started with the same file refuses to start instead of overwriting it
/// (and later deleting it while the first still runs). The pid is written once the director
/// forwards; the file is removed on exit.
struct PidFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    private let fd: Int32

    static func claim(_ path: String) throws(Failure) -> PidFile {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw Failure(description: "--pid-file \(path): cannot open: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, buffer.count)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init) : nil
            throw Failure(description: "--pid-file \(path) is held by another running glb-director\(holder.map { " (pid \($0))" } ?? ""); give each instance its own pid file")
        }
        return PidFile(path: path, fd: fd)
    }

    func write(pid: Int32) throws(Failure) {
        let text = Array("\(pid)\n".utf8)
        guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.count, 0) == text.count else {
            throw Failure(description: "--pid-file \(path): cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the file, then lets go of the lock (in that order: another instance waiting
    /// for it then creates a new file rather than taking this one's).
    func release() {
        unlink(path)
        close(fd)
    }
}
