#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
public enum SystemdNotify {
    /// Sends `state` (e.g. "READY=1") when running under systemd with Type=notify; returns
    /// false when there is no socket or sending failed.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard let path = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty, path.utf8.count < 108 else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        // A leading '@' names an abstract socket: its first byte is NUL.
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let sent = state.withCString { message in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    // Never waits: a full queue at systemd's end drops this message rather than
                    // holding up the caller (the director's readiness thread sends its pings).
                    sendto(fd, message, strlen(message), Int32(MSG_DONTWAIT), $0, length)
                }
            }
        }
        return sent >= 0
    }

    /// How often to send WATCHDOG=1 when systemd watches this process (WatchdogSec=): half of
    /// $WATCHDOG_USEC, in nanoseconds, as sd_watchdog_enabled(3) advises; nil when there is no
    /// watchdog, or it watches another process ($WATCHDOG_PID).
    public static func watchdogIntervalNanoseconds() -> UInt64? {
        if let pid = getenv("WATCHDOG_PID").map({ String(cString: $0) }), !pid.isEmpty, pid != "\(getpid())" {
            return nil
        }
        guard let text = getenv("WATCHDOG_USEC").map({ String(cString: $0) }), let usec = UInt64(text), usec > 0 else {
            return nil
        }
        let (half, overflow) = usec.multipliedReportingOverflow(by: 500)
        return overflow ? nil : half
    }
}
