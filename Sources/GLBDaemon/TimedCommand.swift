import Foundation

/// A program run to its end or to a time limit, with its output: for daemons that drive other
/// programs (birdc, a reload command) and must never wait on one forever.
public enum TimedCommand {
    public struct Result: Sendable {
        /// Exited with status 0 within the limit.
        public var succeeded: Bool
        /// stdout and stderr on one line (" | " between lines), or why it could not run.
        public var output: String
        public var timedOut: Bool
    }

    /// Runs `arguments[0]` (a path, or a name looked up on PATH) with the rest as arguments,
    /// stdin from /dev/null; kills it (SIGKILL) at `timeLimit`.
    public static func run(_ arguments: [String], timeLimit: Duration) -> Result {
        // Output to an unlinked file rather than a pipe: a program that hangs holds a pipe open.
        let path = NSTemporaryDirectory() + "glb-command-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: path, contents: nil), let output = FileHandle(forUpdatingAtPath: path) else {
            return Result(succeeded: false, output: "cannot create a file for the output in \(NSTemporaryDirectory())", timedOut: false)
        }
        unlink(path)
        defer { try? output.close() }
        let process = Process()
        let program = arguments.first ?? "/bin/true"
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        process.arguments = program.hasPrefix("/") ? Array(arguments.dropFirst()) : arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Result(succeeded: false, output: "cannot run \(program): \(error)", timedOut: false)
        }
        let deadline = ContinuousClock.now + timeLimit
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return Result(succeeded: false, output: "no end within \(timeLimit)", timedOut: true)
        }
        process.waitUntilExit()
        try? output.seek(toOffset: 0)
        let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map(String.init).joined(separator: " | ")
        return Result(succeeded: process.terminationStatus == 0, output: text, timedOut: false)
    }
}
