/// A run of failures of one operation (writing the destination, running the reload command),
/// so that the log says when something starts failing, when the failure changes and when it
/// works again, instead of repeating the same error after every round. The counters in the
/// metrics still count every failure.
struct FailureStreak: Sendable {
    /// The latest failure's error; nil while the operation works.
    private(set) var error: String?
    /// Failures in a row so far.
    private(set) var count = 0

    /// Records a failure; true when it is worth a log line: the first of a run, or one whose
    /// error differs from the one before.
    mutating func failed(_ error: String) -> Bool {
        count += 1
        defer { self.error = error }
        return error != self.error
    }

    /// Records a success; returns how many failures in a row it ends (0 when none).
    mutating func succeeded() -> Int {
        defer {
            count = 0
            error = nil
        }
        return count
    }
}
