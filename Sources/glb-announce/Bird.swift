import GLBDaemon

/// BIRD, driven through `birdc` on its control socket: the announcer never speaks BGP itself.
/// Every command has a time limit: birdc waits forever on a BIRD that is stopped.
struct Bird: Sendable {
    var birdc: String
    var socket: String
    var timeLimit: Duration = .seconds(2)

    /// The outcome of one birdc command.
    struct Reply: Sendable {
        var succeeded: Bool
        var output: String
    }

    /// `birdc configure`: BIRD re-reads its configuration, and with it the include files.
    func configure() -> Reply {
        let reply = run(["configure"])
        // "Reconfigured", "Reconfiguration in progress" or "Reconfiguration already in progress, queueing".
        let ok = reply.succeeded && reply.output.contains("Reconfigur") && !reply.output.contains("error")
        return Reply(succeeded: ok, output: reply.output)
    }

    /// `birdc show status`: whether BIRD answers on its socket.
    func isUp() -> Bool {
        let reply = run(["show", "status"])
        return reply.succeeded && reply.output.contains("Daemon is up and running")
    }

    private func run(_ command: [String]) -> Reply {
        let result = TimedCommand.run([birdc, "-s", socket] + command, timeLimit: timeLimit)
        if result.timedOut {
            return Reply(succeeded: false, output: "birdc \(command.joined(separator: " ")) gave no answer within \(timeLimit) (is BIRD stopped?)")
        }
        return Reply(succeeded: result.succeeded, output: result.output)
    }
}
