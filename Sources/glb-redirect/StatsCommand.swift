import ArgumentParser
import GLBCore

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the program's counters, summed over CPUs.",
        discussion: """
            One line per counter in the program's order: name, value, meaning. Every packet \
            the program sees is counted in `packets` and in exactly one outcome; see \
            docs/glb-redirect.md for each counter. Counters start at zero when the program is \
            attached (or replaced) and only grow.

            --format prometheus writes them for node_exporter's textfile collector: \
            glb_redirect_attached, glb_redirect_packets_total{outcome}, \
            glb_redirect_forwarded_packets_total{path} and \
            glb_redirect_skipped_self_hops_total, each labelled with the interface. On an \
            interface without glb-redirect it writes glb_redirect_attached 0 and exits with \
            status 3 (as `status` does); the other formats fail there with status 1.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, prometheus
    }

    @OptionGroup var interface: InterfaceOption

    @Option(help: "Output format: text, json (one object {\"counter_name\": value, ...}) or prometheus (text exposition, for node_exporter's textfile collector).")
    var format: Format?

    @Flag(help: "Print one JSON object {\"counter_name\": value, ...} instead of text (the same as --format json).")
    var json = false

    var chosenFormat: Format { json ? .json : format ?? .text }

    func validate() throws {
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) contradict each other; give one of them")
        }
    }

    func run() throws {
        let interface = try self.interface.resolve()
        let attached: AttachedProgram
        do {
            attached = try AttachedProgram.find(on: interface)
        } catch LoaderError.notAttached where chosenFormat == .prometheus {
            // The textfile collector still gets a file that says so, for an alert to see.
            Console.write(CounterExposition.renderNotAttached(interface: interface.name))
            throw ExitCode(3)
        }
        let counters = try attached.readCounters()
        switch chosenFormat {
        case .text: Console.out(counters.table)
        case .json: Console.out(counters.json)
        case .prometheus: Console.write(CounterExposition.render(counters, interface: interface.name))
        }
    }
}
