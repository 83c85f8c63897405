import Foundation

/// BIRD, driven through `birdc` on its control socket: the announcer never speaks BGP itself.
struct Bird: Sendable {
    var birdc: String
    var socket: String

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: birdc.hasPrefix("/") ? birdc : "/usr/bin/env")
        process.arguments = (birdc.hasPrefix("/") ? [] : [birdc]) + ["-s", socket] + command
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Reply(succeeded: false, output: "cannot run \(birdc): \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
            .split(whereSeparator: \.isNewline).map(String.init).joined(separator: " | ")
        return Reply(succeeded: process.terminationStatus == 0, output: text)
    }
}
