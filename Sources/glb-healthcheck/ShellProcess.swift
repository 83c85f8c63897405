import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `/bin/sh -c command` with stdin from /dev/null and stdout and stderr into an unlinked
/// temporary file (so a chatty command never blocks on a full pipe, and a background child
/// that keeps the output open does not hold up the wait).
final class ShellProcess: Sendable {
    let pid: pid_t
    private let outputFD: Int32
    private let state = Mutex(State())
    private struct State {
        var exited = false
        var killed = false
    }
    static let outputLimit = 2000

    init(command: String) throws {
        var template = Array("/tmp/glb-healthcheck-reload-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ShellError("cannot create a file for the command's output: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that a timeout ends everything it started; default signal
        // handling, whatever this process ignores.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (arg: String) in strdup(arg) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, "/bin/sh", &actions, &attributes, argv, environ)
        guard result == 0 else {
            close(fd)
            throw ShellError("cannot start /bin/sh: \(String(cString: strerror(result)))")
        }
        pid = child
        outputFD = fd
    }

    deinit {
        close(outputFD)
    }

    var wasKilled: Bool { state.withLock { $0.killed } }

    /// Kills the command's whole process group, unless the command has ended (its pid, which
    /// names the group, stays reserved until `exitStatus()` reaps it).
    func kill() {
        state.withLock { state in
            guard !state.exited else { return }
            state.killed = true
            _ = Glibc.kill(-pid, SIGKILL)
        }
    }

    /// Waits for the command to end, on a thread of its own (waitpid blocks).
    func exitStatus() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                // Wait without reaping, note the end, then reap: kill() never hits a reused pid.
                var info = siginfo_t()
                while waitid(P_PID, id_t(self.pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
                self.state.withLock { $0.exited = true }
                var status: Int32 = 0
                while waitpid(self.pid, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: ExitStatus(raw: status))
            }
            thread.start()
        }
    }

    /// The end of what the command printed, on one line.
    func output() -> String {
        let size = Int(lseek(outputFD, 0, SEEK_END))
        guard size > 0 else { return "" }
        let start = max(0, size - Self.outputLimit)
        var bytes = [UInt8](repeating: 0, count: size - start)
        let n = bytes.withUnsafeMutableBytes { pread(outputFD, $0.baseAddress, $0.count, off_t(start)) }
        guard n > 0 else { return "" }
        let text = String(decoding: bytes[0..<n], as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " | ")
        return start > 0 ? "…" + text : text
    }
}
