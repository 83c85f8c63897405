#if canImport(Glibc)
import Glibc
#endif

extension FileIO {
    /// Writes `bytes` to `path` so that a reader sees either the old file or the complete new
    /// one, and so that no interruption loses or leaves anything:
    /// - the data goes to a temporary file `.NAME.tmp-XXXXXX` in the same folder, is synced,
    ///   renamed into place, and the folder is synced so the rename survives a power loss;
    /// - a symbolic link at `path` is written through: its target is replaced, the link stays;
    /// - an existing file keeps its mode and owner; a new one gets `mode` (or what a plain
    ///   create would give: 0666 & ~umask);
    /// - the temporary file is removed on any failure, and by a SIGTERM, SIGINT or SIGHUP
    ///   handler when `TemporaryFileCleanup.install()` was called (command-line tools);
    ///   temporary files left by a writer that was killed outright (SIGKILL) are removed by the
    ///   next write to the same path. A live writer holds a lock on its temporary file, so its
    ///   file is never taken for a dead one.
    public static func writeAtomically(path: String, bytes: [UInt8], mode: mode_t? = nil) throws(FileError) {
        try writeAtomically(path: path, mode: mode) { (fd: Int32) throws(FileError) in
            guard writeAll(fd: fd, bytes) else { throw FileError(path, "write", errno: errno) }
        }
    }

    /// The same, for content written as it is made (a capture replayed frame by frame):
    /// `contents` writes to the temporary file's descriptor, which it must not close.
    public static func writeAtomically(path requested: String, mode: mode_t? = nil,
                                       contents: (Int32) throws(FileError) -> Void) throws(FileError) {
        let path = try resolvingLinks(requested)
        let folder = directory(of: path)
        let prefix = ".\(basename(of: path)).tmp-"
        removeAbandonedTemporaryFiles(in: folder, prefix: prefix)

        var template: [CChar] = []
        var fd: Int32 = -1
        // A stop signal between mkstemp and `track` would leave the file behind: held back
        // until the file is tracked, then delivered to the clean-up handler.
        let stopSignals = TemporaryFileCleanup.blockStopSignals()
        // Another writer's clean-up may find the new file between mkstemp and flock, take
        // it for abandoned and remove it: then this one is no longer at its path; make another.
        for _ in 0..<8 {
            template = Array("\(folder)/\(prefix)XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else {
                let error = errno
                TemporaryFileCleanup.restoreSignals(stopSignals)
                throw FileError(path, "create a temporary file in \(folder)", errno: error)
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = flock(fd, LOCK_EX)
            var byFD = stat(), byPath = stat()
            if fstat(fd, &byFD) == 0, lstat(template, &byPath) == 0, byFD.st_ino == byPath.st_ino, byFD.st_dev == byPath.st_dev { break }
            close(fd)
            fd = -1
        }
        guard fd >= 0 else {
            TemporaryFileCleanup.restoreSignals(stopSignals)
            throw FileError(path, "create a temporary file in \(folder)", "it was removed at once, eight times")
        }
        let tmpPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        TemporaryFileCleanup.track(template)
        TemporaryFileCleanup.restoreSignals(stopSignals)
        var committed = false
        defer {
            if !committed { unlink(tmpPath) }
            TemporaryFileCleanup.untrack()
            close(fd)
        }
        var existing = stat()
        if stat(path, &existing) == 0 {
            // Keep what the operator set: a table readable only by its group stays so.
            fchmod(fd, existing.st_mode & 0o7777)
            if existing.st_uid != geteuid() || existing.st_gid != getegid() {
                guard fchown(fd, existing.st_uid, existing.st_gid) == 0 else {
                    throw FileError(path, "give the new file the owner of the old one", errno: errno)
                }
                fchmod(fd, existing.st_mode & 0o7777)  // fchown clears set-id bits
            }
        } else {
            // mkstemp creates 0600; give the file what a plain create would.
            fchmod(fd, mode ?? (0o666 & ~currentUmask()))
        }
        try contents(fd)
        guard fsync(fd) == 0 else { throw FileError(path, "sync", errno: errno) }
        guard rename(tmpPath, path) == 0 else { throw FileError(path, "rename \(tmpPath) to it", errno: errno) }
        committed = true
        syncFolder(folder)
    }

    /// Why `writeAtomically(path:)` could not create the file at `path`, found without
    /// writing anything; nil when it can. For a daemon that writes a file later, to refuse a
    /// mistyped or unmounted folder at start-up instead of at its first write: the folder
    /// (of the end of the path's links) must exist and take new files, and `path` must not
    /// be a folder. The reason names the path or folder at fault.
    public static func problemWriting(_ requested: String) -> String? {
        let path: String
        do {
            path = try resolvingLinks(requested)
        } catch {
            return error.description
        }
        let folder = directory(of: path)
        var st = stat()
        guard stat(folder, &st) == 0 else {
            let code = errno
            if code == ENOENT { return "its folder \(folder) does not exist" }
            return "its folder \(folder) cannot be used: \(String(cString: strerror(code)))"
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return "\(folder) is not a folder" }
        // The effective ids decide, as they will for the write (root passes unless the file
        // system is read-only).
        guard faccessat(AT_FDCWD, folder, W_OK | X_OK, AT_EACCESS) == 0 else {
            return "cannot create files in its folder \(folder): \(String(cString: strerror(errno)))"
        }
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            return "\(path) is a folder, expected a file"
        }
        return nil
    }

    /// The file a write to `path` should replace: `path` itself, or the end of its chain of
    /// symbolic links (which need not exist yet). Relative link targets are relative to the
    /// link's folder, as the kernel reads them.
    static func resolvingLinks(_ path: String) throws(FileError) -> String {
        var current = path
        for _ in 0..<40 {
            var st = stat()
            guard lstat(current, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { throw FileError(current, "read the symbolic link", errno: errno) }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : directory(of: current) + "/" + target
        }
        throw FileError(path, "follow its symbolic links", "more than 40 links")
    }

    /// Removes `prefix*` files in `folder` whose writer is gone: a writer holds an exclusive
    /// lock on its temporary file until it renames or removes it.
    static func removeAbandonedTemporaryFiles(in folder: String, prefix: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.count == prefix.count + 6 else { continue }
            let candidate = folder + "/" + name
            let fd = open(candidate, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(candidate) }
            close(fd)
        }
    }

    /// Syncs a folder so that a rename in it is on disk; best effort (some file systems
    /// refuse fsync on a folder, and the data itself is synced already).
    static func syncFolder(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// Removes the temporary file of a write in progress when a command-line tool is stopped by
/// SIGTERM, SIGINT or SIGHUP (a health checker killing a slow `build-config`, or Ctrl-C), then
/// ends the process as the signal would have. Daemons that handle these signals themselves do
/// not install it: their writes finish before they act on a stop.
public enum TemporaryFileCleanup {
    /// The path being written, NUL-terminated, in memory a signal handler may read: allocated
    /// once, never freed. An empty string when no write is in progress.
    nonisolated(unsafe) static let pending: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: Int(PATH_MAX) + 1)
        p.initialize(repeating: 0, count: Int(PATH_MAX) + 1)
        return p
    }()

    /// Installs the handlers. Call once, early, from a command-line tool's main thread.
    public static func install() {
        _ = pending
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if TemporaryFileCleanup.pending[0] != 0 { unlink(TemporaryFileCleanup.pending) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }

    /// Marks `path` (NUL-terminated) as the temporary file to remove if a signal stops the
    /// process; one at a time.
    public static func track(_ path: [CChar]) {
        guard path.count <= Int(PATH_MAX) else { return }
        // The terminating NUL is written last so a handler never sees half a path.
        pending[0] = 0
        for (i, c) in path.enumerated().dropFirst() { pending[i] = c }
        pending[path.count - 1] = 0
        pending[0] = path[0]
    }

    public static func untrack() { pending[0] = 0 }

    /// Blocks SIGTERM, SIGINT and SIGHUP for the calling thread; returns the mask to restore.
    static func blockStopSignals() -> sigset_t {
        var stops = sigset_t(), previous = sigset_t()
        sigemptyset(&stops)
        for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stops, sig) }
        pthread_sigmask(SIG_BLOCK, &stops, &previous)
        return previous
    }

    static func restoreSignals(_ previous: sigset_t) {
        var previous = previous
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
