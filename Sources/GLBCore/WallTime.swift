#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A moment in wall-clock time, for logs, status views and metrics (never for measuring
/// intervals: those are timed with `ContinuousClock`).
public struct WallTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Seconds since the Unix epoch.
    public var secondsSinceEpoch: Double

    public init(secondsSinceEpoch: Double) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    /// The time a `timespec` from `clock_gettime(CLOCK_REALTIME)` holds.
    public init(_ ts: timespec) {
        self.init(secondsSinceEpoch: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }

    @Sendable public static func now() -> WallTime {
        WallTime(realTime())
    }

    /// `clock_gettime(CLOCK_REALTIME)`: the exact time, for writers that print microseconds.
    @Sendable public static func realTime() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// `2024-05-01T12:00:00.123Z` (UTC, milliseconds).
    public var iso8601: String {
        let totalMillis = Int64((secondsSinceEpoch * 1000).rounded())
        let millis = Int(((totalMillis % 1000) + 1000) % 1000)
        var t = time_t((totalMillis - Int64(millis)) / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { String(v).leftPadded(to: 2) }
        return "\(String(parts.tm_year + 1900).leftPadded(to: 4))-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(String(millis).leftPadded(to: 3))Z"
    }

    public var description: String { iso8601 }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.secondsSinceEpoch < b.secondsSinceEpoch }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }

    /// The duration in milliseconds, as a floating-point number.
    public var milliseconds: Double { seconds * 1000 }

    /// "150 ms", "2 s", "1.5 s": for messages.
    public var humanReadable: String {
        let ms = milliseconds
        if ms < 1 { return "\((ms * 100).rounded() / 100) ms" }
        if ms < 1000 {
            return ms == ms.rounded() ? "\(Int(ms)) ms" : "\((ms * 10).rounded() / 10) ms"
        }
        let s = ms / 1000
        return s == s.rounded() ? "\(Int(s)) s" : "\((s * 100).rounded() / 100) s"
    }
}
