import GLBCore
import GLBHealthcheck

/// Writes the destination atomically and runs the reload command with `/bin/sh -c`, in a
/// process group of its own, its output collected for the log. A command still running after
/// `timeout` is killed with its whole group (and counts as failed).
struct ShellPublisher: Publisher {
    var timeout: Duration

    func write(_ bytes: [UInt8], to path: String) throws {
        try FileIO.writeAtomically(path: path, bytes: bytes)
    }

    func reload(_ command: String) async -> ReloadOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let process: ShellProcess
        do {
            process = try ShellProcess(command: command)
        } catch {
            return ReloadOutcome(succeeded: false, detail: "\(error)", duration: clock.now - start)
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.kill()
        }
        let status = await process.exitStatus()
        watchdog.cancel()
        let output = process.output()
        let duration = clock.now - start
        if status.succeeded {
            return ReloadOutcome(succeeded: true, detail: status.description, duration: duration)
        }
        var detail = status.description
        if process.wasKilled { detail = "killed after \(timeout.humanReadable) (--reload-timeout)" }
        if !output.isEmpty { detail += ": " + output }
        return ReloadOutcome(succeeded: false, detail: detail, duration: duration)
    }
}

/// The reload command could not be started.
struct ShellError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// How a process ended.
struct ExitStatus: CustomStringConvertible {
    var raw: Int32

    var succeeded: Bool { raw == 0 }

    var description: String {
        let signal = raw & 0x7f
        if signal == 0 { return "exit status \((raw >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }
}
