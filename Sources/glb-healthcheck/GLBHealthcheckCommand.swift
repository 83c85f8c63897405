import ArgumentParser
import GLBCore
import GLBHealthcheck
import GLBHTTP
import GLBLogging
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

@main
struct GLBHealthcheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glb-healthcheck",
        abstract: "Check backends and keep the checked forwarding table up to date (GLB Director's health checker).",
        discussion: """
            Reads healthcheck.conf (GLB's schema: forwarding_table.src, forwarding_table.dst, \
            reload_command), then checks every backend of the source table as its \
            "healthchecks" object says (http, tcp, gue), every interval_ms, all at once. A \
            backend's health changes only after `trigger` rounds in a row disagree with it. \
            Whenever the result changes, the destination table (the source with "healthy" \
            filled in) is written atomically and reload_command is run with /bin/sh -c.

            SIGHUP re-reads the source table; a broken one is reported and the last good one \
            stays in use. SIGTERM and SIGINT stop the checker. Logs go to standard error, one \
            logfmt line per event. See docs/glb-healthcheck.md.

            Exit status: 0 (stopped by a signal; or --once and every checked backend healthy), \
            1 (cannot serve --metrics-address), 2 (configuration error: not fixed by a restart), \
            3 (--once and some checked backend unhealthy), 64 (usage error).
            """,
        version: SwiftGLBVersion.line("glb-healthcheck")
    )

    @Option(name: .long, help: ArgumentHelp("The checker's configuration (GLB's healthcheck.conf).", valueName: "file"))
    var config: String = HealthcheckFile.defaultPath

    @Option(name: .long, help: ArgumentHelp(
        """
        Serve Prometheus metrics at http://ADDRESS/metrics and the status as JSON at \
        /status (e.g. 127.0.0.1:19541 or [::1]:19541). Off by default.
        """, valueName: "address"))
    var metricsAddress: String?

    @Flag(name: .long, help: """
        Run one round of checks, print every backend's health and check results, and exit. \
        Writes nothing and runs no reload command.
        """)
    var once = false

    @Flag(name: .long, help: "With --once: print the status as JSON instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(
        "Seconds the reload command may run before it is killed and counts as failed.", valueName: "seconds"))
    var reloadTimeout: Int = 60

    @Flag(name: .long, help: "Also log every check's result (debug level). GLB's GLB_HEALTHCHECK_LOG_DEBUG=1 does the same.")
    var verbose = false

    /// --verbose, or GLB's environment switch for debug logging.
    var debugLogging: Bool {
        verbose || getenv("GLB_HEALTHCHECK_LOG_DEBUG").map { String(cString: $0) == "1" } == true
    }

    func validate() throws {
        if json && !once {
            throw ValidationError("--json goes with --once (the running checker serves JSON at --metrics-address /status)")
        }
        if let metricsAddress, ListenAddress(metricsAddress) == nil {
            throw ValidationError("--metrics-address: expected IP:PORT such as 127.0.0.1:19541 or [::1]:19541, got \"\(metricsAddress)\"")
        }
        if once && metricsAddress != nil {
            throw ValidationError("--metrics-address has no use with --once")
        }
        guard (1...86_400).contains(reloadTimeout) else {
            throw ValidationError("--reload-timeout must be 1-86400 seconds")
        }
    }

    func run() async throws {
        // A reload requested while the configuration loads must not end the process.
        signal(SIGHUP, SIG_IGN)
        // --once prints every result itself: its log keeps to errors unless asked for more.
        GLBLogHandler.bootstrap(format: .logfmt, level: debugLogging ? .debug : once ? .error : .info)
        let log = Logger(label: "glb-healthcheck")
        let file = try loadConfiguration(log: log)
        raiseFileLimit()
        let source = try loadSource(file.source, log: log)
        let group = MultiThreadedEventLoopGroup.singleton
        let service = HealthcheckService(
            config: file, source: source, prober: NetworkProber(group: group),
            publisher: ShellPublisher(timeout: .seconds(reloadTimeout)), log: log)

        if once {
            await service.runRound()
            let snapshot = service.snapshot
            Console.write(json ? snapshot.json.serialized() : snapshot.text)
            if snapshot.unhealthyCount > 0 { throw ExitCode(3) }
            return
        }

        // SIGHUP was ignored since start-up (see run()); from here on it re-reads the source.
        let signals = SignalEvents.stream([SIGHUP, SIGTERM, SIGINT])
        var server: HTTPEndpoint?
        if let metricsAddress, let address = ListenAddress(metricsAddress) {
            do {
                server = try MetricsServer.start(at: address, service: service)
                log.info("serving metrics", [("address", "\(address)"), ("paths", "/metrics,/status")])
            } catch {
                log.error("cannot serve metrics", [("address", "\(address)"), ("error", ProbeFailure.describe(error))])
                throw ExitCode(1)
            }
        }

        let rounds = Task { await service.run() }
        for await number in signals {
            if number == SIGHUP {
                await service.reloadSource()
            } else {
                log.info("stopping", [("signal", number == SIGTERM ? "SIGTERM" : "SIGINT")])
                break
            }
        }
        rounds.cancel()
        await rounds.value
        server?.stop()
    }

    /// Every check of a round holds its sockets at once (a tunnel check two): lift the soft
    /// limit on open files to the hard one, so that hundreds of backends fit.
    private func raiseFileLimit() {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    private func loadConfiguration(log: Logger) throws -> HealthcheckFile {
        do {
            let loaded = try HealthcheckFile.load(path: config)
            for warning in loaded.warnings { log.warning("\(warning.description)") }
            if !once { try loaded.config.checkDestinationWritable(file: config) }
            return loaded.config
        } catch {
            report(error)
            throw ExitCode(2)
        }
    }

    private func loadSource(_ path: String, log: Logger) throws -> SourceTable {
        do {
            let loaded = try SourceTable.load(path: path)
            for warning in loaded.warnings { log.warning("source table: \(warning.description)") }
            return loaded.config
        } catch {
            report(error)
            throw ExitCode(2)
        }
    }

    /// Configuration errors go to standard error as plain lines, one per problem.
    private func report(_ errors: ConfigErrors) {
        var text = ""
        let journal = JournalStream.isJournal(fd: STDERR_FILENO)
        for issue in errors.issues {
            let line = "glb-healthcheck: \(issue.labeled)"
            text += (journal ? JournalStream.prefixed(line, issue.severity == .error ? .error : .warning) : line) + "\n"
        }
        _ = FileIO.writeAll(fd: STDERR_FILENO, Array(text.utf8))
    }
}
