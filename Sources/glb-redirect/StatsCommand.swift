import ArgumentParser

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the program's counters, summed over CPUs.",
        discussion: """
            One line per counter in the program's order: name, value, meaning. Every packet \
            the program sees is counted in `packets` and in exactly one outcome; see \
            docs/glb-redirect.md for each counter. Counters start at zero when the program is \
            attached (or replaced) and only grow.
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Flag(help: "Print one JSON object {\"counter_name\": value, ...} instead of text.")
    var json = false

    func run() throws {
        let attached = try AttachedProgram.find(on: try interface.resolve())
        let counters = try attached.readCounters()
        Console.out(json ? counters.json : counters.table)
    }
}
