import ArgumentParser
import GLBAnnounce
import GLBCore
import GLBDaemon
import GLBHTTP
import GLBLogging
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

let log = Logger(label: "glb-announce")


@main
struct GLBAnnounceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glb-announce",
        abstract: "Announces this host's director VIPs through BIRD while the director forwards.",
        discussion: """
            Polls the director's GET /ready every --poll-interval-ms and keeps a TUN interface \
            (--interface) up while the director is ready, down while it is not. The VIPs are \
            the binds of the forwarding table the director loads (re-read when the file \
            changes); they are written as static routes through that interface to the BIRD \
            include files, and BIRD is told to re-read them with `birdc configure`.

            BIRD's configuration includes those files in `protocol static` blocks with \
            `check link`, and exports them over BGP with BFD towards the routers (see \
            glb-config/bird/). A static route through an interface that is down is withdrawn, \
            so BIRD announces the VIPs exactly while the interface is up; and as the TUN \
            interface disappears with this process, a dead announcer announces nothing.

            Withdrawn when: the director answers 503 (an lcore without progress, a port \
            without link, a stop under way) or does not answer within --ready-timeout-ms \
            (killed, hung) for --fall polls in a row; the health checker (--healthcheck-url) \
            has had a reload pending, or has not answered, for longer than --stale-after-s; \
            the table has no binds. Announced again after --rise good polls in a row.

            The table file, the health checker and BIRD are looked at once a second on a \
            thread of their own (birdc gets 2 s), so none of them delays a withdrawal. Under \
            systemd (Type=notify) READY=1 is sent at start and WATCHDOG=1 twice a second while \
            the poll loop runs: with WatchdogSec, a hung announcer is ended, and its interface \
            and VIPs with it.

            Logs (GLB's JSON lines) say why at every change. --metrics-address serves \
            /metrics (Prometheus) and /status.
            """,
        version: SwiftGLBVersion.line("glb-announce"))

    @Option(name: .customLong("forwarding-table"), help: ArgumentHelp(
        "The binary forwarding table the director loads; its binds are the VIPs.", valueName: "file"))
    var forwardingTable: String

    @Option(name: .customLong("ready-url"), help: ArgumentHelp(
        "The director's readiness endpoint, e.g. http://127.0.0.1:19540/ready (its metrics_address).", valueName: "url"))
    var readyURL: String

    @Option(help: ArgumentHelp("The TUN interface the static routes point at.", valueName: "name"))
    var interface = "glbvip"

    @Option(name: .customLong("bird-include4"), help: ArgumentHelp(
        "Include file for the IPv4 VIP routes (inside BIRD's `protocol static` with `ipv4`).", valueName: "file"))
    var birdInclude4 = "/run/glb/bird-vips4.conf"

    @Option(name: .customLong("bird-include6"), help: ArgumentHelp(
        "Include file for the IPv6 VIP routes (inside BIRD's `protocol static` with `ipv6`).", valueName: "file"))
    var birdInclude6 = "/run/glb/bird-vips6.conf"

    @Option(name: .customLong("bird-socket"), help: ArgumentHelp("BIRD's control socket.", valueName: "path"))
    var birdSocket = "/run/bird/bird.ctl"

    @Option(help: ArgumentHelp("The birdc program.", valueName: "path"))
    var birdc = "birdc"

    @Option(name: .customLong("poll-interval-ms"), help: "How often the director is asked whether it is ready.")
    var pollIntervalMs = 50

    @Option(name: .customLong("ready-timeout-ms"), help: "How long an answer from the director may take.")
    var readyTimeoutMs = 100

    @Option(help: "Good polls in a row before the VIPs are announced again.")
    var rise = 3

    @Option(help: "Bad polls in a row before the VIPs are withdrawn.")
    var fall = 1

    @Option(name: .customLong("healthcheck-url"), help: ArgumentHelp(
        "The health checker's metrics, e.g. http://127.0.0.1:19541/metrics: a reload pending for longer than --stale-after-s withdraws the VIPs.",
        valueName: "url"))
    var healthcheckURL: String?

    @Option(name: .customLong("stale-after-s"), help: "See --healthcheck-url.")
    var staleAfterS = 30

    @Option(name: .customLong("metrics-address"), help: ArgumentHelp(
        "Serve /metrics and /status here, e.g. 127.0.0.1:19542.", valueName: "host:port"))
    var metricsAddress: String?

    @Flag(help: "Log debug messages too (every poll's verdict).")
    var debug = false

    func validate() throws {
        guard HTTPURL(readyURL) != nil else { throw ValidationError("--ready-url: expected http://HOST:PORT/PATH, got \"\(readyURL)\"") }
        if let healthcheckURL, HTTPURL(healthcheckURL) == nil {
            throw ValidationError("--healthcheck-url: expected http://HOST:PORT/PATH, got \"\(healthcheckURL)\"")
        }
        if let metricsAddress, ListenAddress(metricsAddress) == nil {
            throw ValidationError("--metrics-address: expected an address and port such as 127.0.0.1:19542, got \"\(metricsAddress)\"")
        }
        // Checked here rather than when the interface is made: a usage error (64) is not
        // retried by the unit (RestartPreventExitStatus).
        guard TunInterface.isValidName(interface) else {
            throw ValidationError("--interface: \"\(interface)\" is not a valid interface name (1-15 characters, no '/' or spaces)")
        }
        guard (10...10_000).contains(pollIntervalMs) else { throw ValidationError("--poll-interval-ms: expected 10-10000") }
        guard (10...10_000).contains(readyTimeoutMs) else { throw ValidationError("--ready-timeout-ms: expected 10-10000") }
        guard (1...100).contains(rise), (1...100).contains(fall) else { throw ValidationError("--rise and --fall: expected 1-100") }
        guard (1...86_400).contains(staleAfterS) else { throw ValidationError("--stale-after-s: expected 1-86400") }
    }

    func run() throws {
        GLBLogHandler.bootstrap(debug: debug)
        StopSignal.install()
        let settings = AnnouncerSettings(
            tablePath: forwardingTable, readyURL: HTTPURL(readyURL)!, healthcheckURL: healthcheckURL.flatMap(HTTPURL.init),
            includes: (birdInclude4, birdInclude6), bird: Bird(birdc: birdc, socket: birdSocket), interface: interface,
            pollInterval: .milliseconds(pollIntervalMs), readyTimeout: .milliseconds(readyTimeoutMs),
            policy: AnnouncePolicy(rise: rise, fall: fall,
                                   staleAfterNanoseconds: healthcheckURL == nil ? nil : UInt64(staleAfterS) * 1_000_000_000))
        let announcer: Announcer
        do {
            announcer = try Announcer(settings: settings, interface: TunInterface(name: interface))
        } catch {
            log.error("not starting: \(error)")
            throw ExitCode(1)
        }
        var endpoint: HTTPEndpoint?
        if let metricsAddress, let address = ListenAddress(metricsAddress) {
            do {
                let status = announcer.status
                endpoint = try HTTPEndpoint(address: address, name: "glb-announce", routes: status.routes)
                log.info("metrics on http://\(address)/metrics")
            } catch {
                log.error("not starting: --metrics-address: \(error)")
                throw ExitCode(1)
            }
        }
        announcer.run()
        endpoint?.stop()
    }
}
