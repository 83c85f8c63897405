#if canImport(Glibc)
import Glibc
#endif

/// The two clocks the daemons read: a monotonic one for intervals and deadlines, and Unix
/// time for timestamps they export.
public enum DaemonClock {
    /// Nanoseconds on CLOCK_MONOTONIC.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds since the Unix epoch.
    public static func unixSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
