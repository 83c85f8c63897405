#if canImport(Glibc)
import Glibc
#endif

/// systemd's journal as the other end of stdout or stderr. A service's output reaches journald
/// through a stream whose device and inode systemd puts in $JOURNAL_STREAM ("DEVICE:INODE",
/// systemd.exec(5)); a line written there may start with sd-daemon(3)'s priority prefix
/// ("<3>" for an error), which journald strips and keeps as the entry's priority, so that
/// `journalctl -p err` finds the errors. The descriptor itself is compared, not just the
/// variable's presence: children inherit the variable, but a parent that captures their output
/// (a reload command run by the health checker) must not get the prefixes.
public enum JournalStream {
    /// syslog(3)'s priorities, as journald takes them.
    public enum Priority: Int, Sendable {
        case emergency, alert, critical, error, warning, notice, info, debug
    }

    /// True when `fd` is the stream $JOURNAL_STREAM names.
    public static func isJournal(fd: Int32) -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return matches(String(cString: value), device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Whether $JOURNAL_STREAM's value names this device and inode (both in decimal).
    public static func matches(_ value: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let d = UInt64(parts[0]), let i = UInt64(parts[1]) else { return false }
        return d == device && i == inode
    }

    /// The line with its priority prefix, e.g. `<3>…`.
    public static func prefixed(_ line: String, _ priority: Priority) -> String {
        "<\(priority.rawValue)>" + line
    }
}
