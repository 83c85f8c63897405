/// Where the service's decisions go: the destination file and the reload command.
public protocol Publisher: Sendable {
    /// Replaces the file at `path` with `bytes`, so that a reader sees the old file or the new
    /// one, never a mix.
    func write(_ bytes: [UInt8], to path: String) throws
    /// Runs the reload command and reports how it ended.
    func reload(_ command: String) async -> ReloadOutcome
}

/// How a run of the reload command ended.
public struct ReloadOutcome: Equatable, Sendable {
    public var succeeded: Bool
    /// The exit status or signal, and the end of the command's output when it failed.
    public var detail: String
    public var duration: Duration

    public init(succeeded: Bool, detail: String, duration: Duration) {
        self.succeeded = succeeded
        self.detail = detail
        self.duration = duration
    }
}
