import Foundation

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
        // Output to an unlinked file rather than a pipe: a birdc that hangs holds a pipe open.
        let path = NSTemporaryDirectory() + "glb-announce-birdc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: path, contents: nil), let output = FileHandle(forUpdatingAtPath: path) else {
            return Reply(succeeded: false, output: "cannot create a file for birdc's output in \(NSTemporaryDirectory())")
        }
        unlink(path)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: birdc.hasPrefix("/") ? birdc : "/usr/bin/env")
        process.arguments = (birdc.hasPrefix("/") ? [] : [birdc]) + ["-s", socket] + command
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Reply(succeeded: false, output: "cannot run \(birdc): \(error)")
        }
        let deadline = ContinuousClock.now + timeLimit
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return Reply(succeeded: false, output: "birdc \(command.joined(separator: " ")) gave no answer within \(timeLimit) (is BIRD stopped?)")
        }
        process.waitUntilExit()
        try? output.seek(toOffset: 0)
        let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map(String.init).joined(separator: " | ")
        return Reply(succeeded: process.terminationStatus == 0, output: text)
    }
}
