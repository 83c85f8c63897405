import ArgumentParser

/// The director's own options, given after `--` (EAL's options come before it), exactly as
/// GLB Director is started.
struct DirectorArguments: ParsableArguments {
    static let usage = "glb-director [EAL options] -- --config-file FILE --forwarding-table FILE [--debug] [--pid-file FILE]"

    // -c, -t and -v are GLB's own short forms, so its unit files and scripts work unchanged.
    @Option(name: [.customShort("c"), .customLong("config-file")], help: ArgumentHelp(
        "The director configuration (GLB's director.conf: gateway MAC, source IP, hash fields, flow paths, lcores).",
        valueName: "file"))
    var configFile: String

    @Option(name: [.customShort("t"), .customLong("forwarding-table")], help: ArgumentHelp(
        "The binary forwarding table (glb-director-cli build-config). Re-read by path on SIGHUP/SIGUSR1.",
        valueName: "file"))
    var forwardingTable: String

    @Flag(name: [.customShort("v"), .long], help: "Log debug messages too.")
    var debug = false

    @Option(name: .customLong("pid-file"), help: ArgumentHelp(
        "Write the process id here once forwarding, remove it on exit.", valueName: "file"))
    var pidFile: String?

    // Answered before anything else is parsed (`SplitCommandLine.asksVersion`); declared here
    // so that --help lists it.
    @Flag(help: "Print the version and exit (needs no EAL options and touches no DPDK state).")
    var version = false

    static let discussion = """
        Receives packets on the DPDK ports of the configuration's flow paths, matches them \
        against the binds of the forwarding table, and sends them GUE-encapsulated to the \
        primary backend with the secondary in the GLB hop list. Packets that match no bind go \
        to the kernel through a TAP interface vglb_kniN when the rx lcore has "kni": true, \
        and are dropped otherwise.

        EAL options (before --) choose cores and ports, for example:
          -l 0-1 --vdev=net_af_packet0,iface=eth1         (any Linux interface)
          -l 0-1 --vdev=net_af_xdp0,iface=eth1,start_queue=0,queue_count=1
          -l 0-2 -a 0000:03:00.0                          (a NIC bound to vfio-pci)
        Hugepages are used by default (see scripts/hugepages); without them add
        --no-huge -m 1024. Give each instance its own --file-prefix.

        Signals: SIGHUP or SIGUSR1 reloads the forwarding table without dropping packets (a \
        bad table is rejected and the running one stays); SIGINT or SIGTERM stops cleanly, at \
        once or, with stop_grace_ms, after that long reporting not ready (a second signal \
        stops at once). With NOTIFY_SOCKET set, READY=1 is sent to systemd once every worker \
        forwards; with WATCHDOG_USEC set too (WatchdogSec=), WATCHDOG=1 is sent only while \
        every lcore's loop makes progress.

        With metrics_address, GET /metrics serves Prometheus metrics and GET /ready answers \
        200 while the director forwards, or 503 with the reasons (an lcore without progress \
        for readiness_window_ms, a port without link, a table without binds, a stop under way).

        Exit status: 0 after a stop signal; 1 on a failure that may pass (table file, \
        hugepages, EAL, a port, the pid file); 2 when director.conf or the EAL options are \
        wrong, found before EAL allocates anything; 64 when these options are wrong.
        """
}

/// The command line split at `--`: EAL's part (with the program name first) and ours.
struct SplitCommandLine {
    var eal: [String]
    var director: [String]

    /// `--version` among the director's options, or anywhere when there is no `--`: answered
    /// at once, without the required options and without EAL.
    var asksVersion: Bool { director.contains("--version") }

    init(_ arguments: [String]) {
        if let separator = arguments.firstIndex(of: "--") {
            eal = Array(arguments[..<separator])
            director = Array(arguments[(separator + 1)...])
        } else if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
            eal = [arguments.first ?? "glb-director"]
            director = ["--help"]
        } else if arguments.dropFirst().contains("--version") {
            eal = [arguments.first ?? "glb-director"]
            director = ["--version"]
        } else {
            eal = arguments
            director = []
        }
    }

    /// The command line with the `--` an operator forgot put back: when there is no `--` and
    /// the arguments from some position on parse as the director's own options, those go after
    /// a `--` inserted there (EAL's, if any, stay before it). nil when that is not the mistake.
    static func withSeparator(_ arguments: [String]) -> [String]? {
        guard !arguments.contains("--"), arguments.count > 1 else { return nil }
        for start in 1..<arguments.count where arguments[start].hasPrefix("-") {
            if (try? DirectorArguments.parse(Array(arguments[start...]))) != nil {
                return Array(arguments[..<start]) + ["--"] + arguments[start...]
            }
        }
        return nil
    }
}
