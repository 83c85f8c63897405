import ArgumentParser
import GLBBalance
import GLBCore
import GLBHTTP
import GLBLogging
import GLBDaemon
import Logging

#if canImport(Glibc)
import Glibc
#endif

let log = Logger(label: "glb-balance")


@main
struct GLBBalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glb-balance",
        abstract: "Moves backend weights toward equal utilization, measured by Prometheus, breaking no connection.",
        discussion: """
            Every interval_s, for each table of its configuration, runs the table's PromQL \
            query against Prometheus (one value per backend address: its utilization, 0 to 1) \
            and moves the weights of the table's active, healthy backends toward equal \
            utilization: a dead band, a limit on each step, minimum and maximum weights, and at \
            least min_change_interval_s between two changes. It writes the operator's source \
            table with the weights to `output`, atomically, as a transition table \
            (previous_weight on the backends that changed), so that second chance keeps every \
            connection; glb-healthcheck reads that file as its source and reloads the \
            directors as usual (reload_command tells it to re-read).

            It does not act (freezes, and says why) while Prometheus does not answer, while a \
            backend's load is missing from the query's result, for min_change_interval_s after \
            a backend's health or the source changed, or when the output was changed by another \
            writer. Run exactly one per output file: a second one on the same host is refused \
            (a lock beside the output).

            Logs (GLB's JSON lines) give the reason for every action. --metrics-address serves \
            /metrics (weights, utilization, spread, actions) and /status.
            """,
        version: SwiftGLBVersion.line("glb-balance"))

    @Option(help: ArgumentHelp("The configuration file (docs/glb-balance.md).", valueName: "file"))
    var config: String

    @Flag(name: .customLong("dry-run"), help: "Only say what would be done: write nothing, run nothing.")
    var dryRun = false

    @Flag(help: "One step, then exit (0 when it ran, whatever it decided).")
    var once = false

    @Option(name: .customLong("metrics-address"), help: ArgumentHelp("Serve /metrics and /status here, e.g. 127.0.0.1:19543.", valueName: "host:port"))
    var metricsAddress: String?

    @Flag(help: "Log debug messages too.")
    var debug = false

    func validate() throws {
        if let metricsAddress, ListenAddress(metricsAddress) == nil {
            throw ValidationError("--metrics-address: expected an address and port such as 127.0.0.1:19543, got \"\(metricsAddress)\"")
        }
    }

    func run() throws {
        GLBLogHandler.bootstrap(debug: debug)
        StopSignal.install()
        let settings: BalanceConfig
        do {
            let loaded = try BalanceConfig.load(path: config)
            for warning in loaded.warnings { log.warning("\(warning)") }
            settings = loaded.config
        } catch {
            for issue in error.issues { log.log(level: issue.severity == .error ? .error : .warning, "\(issue)") }
            log.error("not starting: \(config) has \(error.errors.count) error(s)")
            throw ExitCode(2)
        }
        let lock: OutputLock?
        do {
            lock = dryRun ? nil : try OutputLock(output: settings.output)
        } catch {
            log.error("not starting: \(error)")
            throw ExitCode(1)
        }
        // Held until the process ends.
        defer { withExtendedLifetime(lock) {} }
        let loop = BalanceLoop(config: settings, dryRun: dryRun)
        var endpoint: HTTPEndpoint?
        if let metricsAddress, let address = ListenAddress(metricsAddress) {
            do {
                let status = loop.status
                endpoint = try HTTPEndpoint(address: address, name: "glb-balance", routes: status.routes)
                log.info("metrics on http://\(address)/metrics")
            } catch {
                log.error("not starting: --metrics-address: \(error)")
                throw ExitCode(1)
            }
        }
        log.info("balancing \(settings.tables.map(\.table.description).joined(separator: ", ")) of \(settings.source) into \(settings.output)\(dryRun ? " (dry run: nothing is written)" : "")", metadata: [
            "prometheus": "\(settings.prometheus)", "interval_s": "\(settings.intervalSeconds)",
            "min_change_interval_s": "\(settings.minChangeIntervalSeconds)",
        ])
        SystemdNotify.send("READY=1")
        while !StopSignal.requested {
            loop.step()
            if once { break }
            for _ in 0..<(settings.intervalSeconds * 10) where !StopSignal.requested {
                usleep(100_000)
            }
        }
        endpoint?.stop()
        loop.shutdown()
        log.info("stopped")
    }
}

/// An exclusive lock on `<output>.lock`: one loop per output file on a host.
final class OutputLock {
    private let fd: Int32

    init(output: String) throws(BalanceError) {
        let path = output + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BalanceError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw BalanceError("another glb-balance writes \(output) (\(path) is locked)")
        }
    }

    deinit { close(fd) }
}

struct BalanceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
