import ArgumentParser
import CDPDKShim
import GLBCore
import GLBDirectorPlan
import GLBHTTP
import GLBLogging
import GLBPacket
import GLBDaemon

#if canImport(Glibc)
import Glibc
#endif

/// Exit statuses: systemd's unit does not restart the director after a mistake in its
/// configuration or command line (`RestartPreventExitStatus=2 64`), only after a failure.
enum ExitStatus {
    static let success: Int32 = 0
    /// Anything that may pass by itself: a table not written yet, hugepages, EAL, a port.
    static let failure: Int32 = 1
    /// director.conf or the EAL options are wrong: restarting cannot help.
    static let configuration: Int32 = 2
    /// The director's own options are wrong (EX_USAGE, as swift-argument-parser's tools).
    static let usage: Int32 = 64
}

@main
enum GLBDirector {
    /// EAL's runtime folder, once EAL has started.
    nonisolated(unsafe) static var runtimeDirectory: String?

    static func main() {
        // From the first instruction: a closed stdout (`glb-director … | head`) must not kill
        // the director, and SIGUSR2, which means nothing here, must not either. Stop and reload
        // signals get their handlers before EAL starts (in `run`).
        signal(SIGPIPE, SIG_IGN)
        signal(SIGUSR2, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        let split = SplitCommandLine(CommandLine.arguments)
        if split.asksVersion {
            Console.out(SwiftGLBVersion.line("glb-director"))
            exit(0)
        }
        let arguments: DirectorArguments
        do {
            arguments = try DirectorArguments.parse(split.director)
        } catch {
            let code = DirectorArguments.exitCode(for: error)
            if code == .success {
                Console.out("USAGE: \(DirectorArguments.usage)\n\n\(DirectorArguments.discussion)\n")
                Console.out(DirectorArguments.helpMessage().components(separatedBy: "\n").drop { !$0.hasPrefix("OPTIONS") }.joined(separator: "\n"))
                exit(ExitStatus.success)
            }
            // Without `--`, every argument is EAL's, and the error would name a missing option
            // the operator did give: say what happened instead.
            let text = SplitCommandLine.withSeparator(CommandLine.arguments).map {
                "glb-director: the director's options must follow `--` (EAL's options come before it); as meant:\n  \($0.joined(separator: " "))"
            } ?? "glb-director: \(DirectorArguments.message(for: error))"
            Console.error(text + "\nUSAGE: \(DirectorArguments.usage)")
            exit(ExitStatus.usage)
        }
        GLBLogHandler.bootstrap(debug: arguments.debug)
        exit(run(arguments, ealArguments: split.eal))
    }

    /// Everything that can be checked is checked before EAL allocates anything; what EAL
    /// alone can tell is checked before a port starts.
    static func run(_ arguments: DirectorArguments, ealArguments: [String]) -> Int32 {
        let config: DirectorConfig
        let warnings: [ConfigIssue]
        let layout: DirectorLayout
        let table: CompiledForwardingTable
        let plane: ForwardingPlane
        do {
            let loaded = try DirectorConfig.load(path: arguments.configFile)
            (config, warnings) = (loaded.config, loaded.warnings)
            layout = try DirectorLayout(config, file: arguments.configFile)
        } catch {
            for issue in error.issues { log.log(level: issue.severity == .error ? .error : .warning, "\(issue)") }
            log.error("not starting: \(arguments.configFile) has \(error.errors.count) error(s)")
            return ExitStatus.configuration
        }
        for warning in warnings { log.warning("\(warning)") }
        do {
            (table, plane) = try DirectorRuntime.loadTable(path: arguments.forwardingTable, config: config)
        } catch {
            log.error("not starting: forwarding table: \(error)")
            return ExitStatus.failure
        }
        let eal = EALOptions(Array(ealArguments.dropFirst()))
        let memory = HugepageCheck.Memory.read()
        let expected = DirectorPlan(config: config, layout: layout, eal: StartChecks.expectedResources(eal, layout: layout))
        let problems = StartChecks.problems(plan: expected, eal: eal, hugepages: memory)
        if !problems.isEmpty {
            for problem in problems { log.error("\(problem)") }
            log.error("not starting: \(problems.count) problem(s) in \(arguments.configFile) or the EAL options")
            return ExitStatus.configuration
        }
        do {
            try HugepageCheck.check(eal, memory: memory)
        } catch {
            log.error("not starting: \(error)")
            return ExitStatus.failure
        }
        var pidFile: PidFile?
        if let path = arguments.pidFile {
            do {
                pidFile = try PidFile.claim(path)
            } catch {
                log.error("not starting: \(error)")
                return ExitStatus.failure
            }
        }
        defer { pidFile?.release() }
        // A verdict older than the window plus a few ticks means the readiness thread stalled.
        let readiness = ReadinessState(staleAfterMilliseconds: config.readinessWindowMilliseconds + 100)
        let metricsSlot = MetricsServer.SourceSlot()
        var metrics: HTTPEndpoint?
        if let address = config.metricsAddress {
            do {
                metrics = try MetricsServer.start(address: address, slot: metricsSlot, readiness: readiness)
            } catch {
                log.error("not starting: \(error)")
                return ExitStatus.configuration
            }
        }
        defer { metrics?.stop() }
        glb_set_graceful_stop(config.stopGraceMilliseconds > 0 ? 1 : 0)
        guard glb_install_signal_handlers() == 0 else {
            log.error("not starting: cannot install signal handlers")
            return ExitStatus.failure
        }

        // EAL leaves its runtime folder behind even when it keeps nothing in it (--in-memory).
        // It is removed, when empty, at exit: registered before EAL starts, this runs after
        // DPDK's own exit handlers, which remove the telemetry socket inside it.
        atexit { if let folder = GLBDirector.runtimeDirectory { rmdir(folder) } }

        // EAL reorders argv and writes the program name into it: free the originals.
        let owned = ealArguments.map { strdup($0) }
        defer { owned.forEach { free($0) } }
        var cArguments = owned
        let parsed = rte_eal_init(Int32(cArguments.count), &cArguments)
        guard parsed >= 0 else {
            let code = glb_rte_errno()
            let reason = code != 0 ? String(cString: rte_strerror(code)) : "see EAL's messages above"
            log.error("EAL initialisation failed: \(reason); check the EAL options (before --), e.g. a --file-prefix already in use by another instance; for memory problems: \(HugepageCheck.advice)")
            return ExitStatus.failure
        }
        runtimeDirectory = String(cString: rte_eal_get_runtime_dir())
        if glb_stop_requested() != 0 {
            log.info("stop requested (signal \(glb_stop_signal())) while EAL started: not starting the ports")
            rte_eal_cleanup()
            log.info("stopped")
            return ExitStatus.success
        }
        log.info("SwiftGLB director starting (\(String(cString: rte_version()))), table: \(DirectorStatus.summary(table))")
        DirectorRuntime.warnAboutContent(table)
        // The ports are known now: outer UDP checksums go to the NICs if every one can take them.
        var portsPlane = plane
        let checksums = PortSetup.udpChecksumOffload(layout.ports)
        if checksums.offload {
            do {
                portsPlane = try ForwardingPlane(table: table, config: config, udpChecksumOffload: true)
            } catch {
                log.error("not starting: forwarding table: \(error)")
                rte_eal_cleanup()
                return ExitStatus.failure
            }
        }
        if config.udpChecksum || config.outboundSourceIPv6 != nil {
            log.info(checksums.offload ? "outer UDP checksums: computed by the NICs"
                     : "outer UDP checksums: computed in software (port \(checksums.without.map(String.init) ?? "-") (\(checksums.without.map(PortSetup.driverName) ?? "")) cannot compute them)")
        }

        let plan = DirectorPlan(config: config, layout: layout, eal: DirectorRuntime.ealResources(layout))
        let runtime = DirectorRuntime(config: config, plan: plan, tablePath: arguments.forwardingTable, plane: portsPlane, tables: table,
                                      udpChecksumOffload: checksums.offload)
        var exitCode = ExitStatus.success
        var monitor: ReadinessMonitor?
        do {
            try runtime.start()
            monitor = ReadinessMonitor(runtime: runtime, state: readiness)
            monitor?.start()
            if let address = config.metricsAddress {
                metricsSlot.source.withLock { $0 = MetricsSource(runtime: runtime, readiness: readiness) }
                log.info("metrics on http://\(address)/metrics, readiness on http://\(address)/ready")
            }
            try announceReady(runtime, pidFile: pidFile)
            mainLoop(runtime, monitor: monitor!)
        } catch {
            log.error("\(error)")
            exitCode = ExitStatus.failure
        }
        let signal = glb_stop_signal()
        log.info("stopping\(signal != 0 ? " (signal \(signal))" : ""): waiting for lcores, draining queues, closing ports")
        metricsSlot.source.withLock { $0 = nil }
        monitor?.stop()
        runtime.shutdown()
        runtime.logTotals()
        rte_eal_cleanup()
        log.info("stopped")
        return exitCode
    }

    /// Writes the pid file, logs that the director forwards and tells systemd.
    static func announceReady(_ runtime: DirectorRuntime, pidFile: PidFile?) throws(PidFile.Failure) {
        try pidFile?.write(pid: getpid())
        let rss = residentMemory()
        log.info("forwarding on \(runtime.launched.count) lcore(s), \(runtime.nicPorts.count) port(s); hugepage memory \(glb_hugepage_bytes_in_use() >> 20) MB, RSS \(rss >> 20) MB")
        if SystemdNotify.send("READY=1\nSTATUS=forwarding") { log.info("told systemd READY=1") }
    }

    static let mainLoopTickMilliseconds = 10

    /// Signals, reloads and statsd, until the lcores are told to stop: at once on a
    /// stop signal, or with `stop_grace_ms`, once the grace period after the first one ends
    /// (a second signal ends it early).
    static func mainLoop(_ runtime: DirectorRuntime, monitor: ReadinessMonitor) {
        let statsd = runtime.config.statsdPort.flatMap { StatsdReporter(port: $0, runtime: runtime) }
        let grace = UInt64(runtime.config.stopGraceMilliseconds) * 1_000_000
        var stopAt: UInt64?
        var ticks = 0
        while glb_stop_requested() == 0 {
            usleep(useconds_t(mainLoopTickMilliseconds * 1000))
            let now = DaemonClock.monotonicNanoseconds()
            if grace > 0 && stopAt == nil && glb_stop_signals() > 0 {
                stopAt = now + grace
                monitor.beginStop()
                log.info("stop requested (signal \(glb_stop_signal())): not ready from now on, forwarding for \(runtime.config.stopGraceMilliseconds) ms more (stop_grace_ms) so that routers move traffic away; a second signal stops at once")
                SystemdNotify.send("STOPPING=1\nSTATUS=stopping: grace period")
            }
            if glb_take_reload_request() != 0 {
                runtime.reload()
            }
            monitor.mainLoopRan()
            if let stopAt, now >= stopAt {
                log.info("grace period over")
                glb_request_stop()
            }
            ticks += 1
            if ticks % 100 == 0 { statsd?.report() }
        }
    }

    static func residentMemory() -> Int {
        guard let text = try? FileIO.read(path: "/proc/self/status", limit: 1 << 20) else { return 0 }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.dropFirst(6).trimmingSpaces().split(separator: " ").first ?? "") ?? 0) * 1024
        }
        return 0
    }
}
