import ArgumentParser
import CDPDKShim
import GLBCore
import GLBHTTP
import GLBLogging
import GLBPacket
import GLBDaemon

#if canImport(Glibc)
import Glibc
#endif

@main
enum GLBDirector {
    static func main() {
        // A reload requested while starting must not kill the process (their default action):
        // the handlers are installed once EAL is up, and the table is read fresh then anyway.
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        let split = SplitCommandLine(CommandLine.arguments)
        if split.asksVersion {
            print(SwiftGLBVersion.line("glb-director"))
            exit(0)
        }
        let arguments: DirectorArguments
        do {
            arguments = try DirectorArguments.parse(split.director)
        } catch {
            let code = DirectorArguments.exitCode(for: error)
            if code == .success {
                print("USAGE: \(DirectorArguments.usage)\n\n\(DirectorArguments.discussion)\n")
                print(DirectorArguments.helpMessage().components(separatedBy: "\n").drop { !$0.hasPrefix("OPTIONS") }.joined(separator: "\n"))
                exit(0)
            }
            let text = "glb-director: \(DirectorArguments.message(for: error))\nUSAGE: \(DirectorArguments.usage)\n"
            _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            exit(1)
        }
        GLBLogHandler.bootstrap(debug: arguments.debug)
        exit(run(arguments, ealArguments: split.eal))
    }

    /// Everything that can fail is checked before EAL touches a port.
    static func run(_ arguments: DirectorArguments, ealArguments: [String]) -> Int32 {
        let config: DirectorConfig
        let layout: DirectorLayout
        let table: CompiledForwardingTable
        let plane: ForwardingPlane
        do {
            config = try DirectorConfig.load(path: arguments.configFile)
            layout = try DirectorLayout(config, file: arguments.configFile)
        } catch {
            for issue in error.issues { log.log(level: issue.severity == .error ? .error : .warning, "\(issue)") }
            log.error("not starting: \(arguments.configFile) has \(error.errors.count) error(s)")
            return 1
        }
        do {
            (table, plane) = try DirectorRuntime.loadTable(path: arguments.forwardingTable, config: config)
        } catch {
            log.error("not starting: forwarding table: \(error)")
            return 1
        }
        do {
            try HugepageCheck.check(ealArguments: ealArguments)
        } catch {
            log.error("not starting: \(error)")
            return 1
        }

        // EAL reorders argv and writes the program name into it: free the originals.
        let owned = ealArguments.map { strdup($0) }
        defer { owned.forEach { free($0) } }
        var cArguments = owned
        let parsed = rte_eal_init(Int32(cArguments.count), &cArguments)
        guard parsed >= 0 else {
            let code = glb_rte_errno()
            let reason = code != 0 ? String(cString: rte_strerror(code)) : "see EAL's messages above"
            log.error("EAL initialisation failed: \(reason); check the EAL options (before --), e.g. a --file-prefix already in use by another instance; for memory problems: \(HugepageCheck.advice)")
            return 1
        }
        glb_set_graceful_stop(config.stopGraceMilliseconds > 0 ? 1 : 0)
        guard glb_install_signal_handlers() == 0 else {
            log.error("cannot install signal handlers")
            rte_eal_cleanup()
            return 1
        }
        log.info("SwiftGLB director starting (\(String(cString: rte_version()))), table: \(DirectorStatus.summary(table))")
        DirectorRuntime.warnIfEmpty(table)

        let runtime = DirectorRuntime(config: config, layout: layout, tablePath: arguments.forwardingTable, plane: plane, tables: table)
        var exitCode: Int32 = 0
        var metrics: HTTPEndpoint?
        var wrotePidFile = false
        // A verdict older than the window plus a few ticks means the readiness thread stalled.
        let readiness = ReadinessState(staleAfterMilliseconds: config.readinessWindowMilliseconds + 100)
        var monitor: ReadinessMonitor?
        do {
            try runtime.start()
            monitor = ReadinessMonitor(runtime: runtime, state: readiness)
            monitor?.start()
            if let address = config.metricsAddress {
                metrics = try MetricsServer.start(address: address, source: MetricsSource(runtime: runtime, readiness: readiness),
                                                  readiness: readiness)
                log.info("metrics on http://\(address)/metrics, readiness on http://\(address)/ready")
            }
            wrotePidFile = announceReady(runtime, pidFile: arguments.pidFile)
            mainLoop(runtime, monitor: monitor!)
        } catch {
            log.error("\(error)")
            exitCode = 1
        }
        let signal = glb_stop_signal()
        log.info("stopping\(signal != 0 ? " (signal \(signal))" : ""): waiting for lcores, draining queues, closing ports")
        metrics?.stop()
        monitor?.stop()
        runtime.shutdown()
        runtime.logTotals()
        rte_eal_cleanup()
        if wrotePidFile, let pid = arguments.pidFile { unlink(pid) }
        log.info("stopped")
        return exitCode
    }

    /// Logs that the director forwards, writes the pid file and tells systemd; returns
    /// whether the pid file was written (and so is ours to remove).
    static func announceReady(_ runtime: DirectorRuntime, pidFile: String?) -> Bool {
        var wrote = false
        if let pidFile {
            do {
                try FileIO.writeAtomically(path: pidFile, bytes: Array("\(getpid())\n".utf8), mode: 0o644)
                wrote = true
            } catch {
                log.warning("cannot write the pid file: \(error)")
            }
        }
        let rss = residentMemory()
        log.info("forwarding on \(runtime.launched.count) lcore(s), \(runtime.nicPorts.count) port(s); hugepage memory \(glb_hugepage_bytes_in_use() >> 20) MB, RSS \(rss >> 20) MB")
        if SystemdNotify.send("READY=1\nSTATUS=forwarding") { log.info("told systemd READY=1") }
        return wrote
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
