import ArgumentParser

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether the program is attached, its settings and a counter summary.",
        discussion: """
            Exit status: 0 if glb-redirect is attached to the interface, 3 if it is not, \
            1 on any error (e.g. another program in glb-redirect's clsact slot).
            """
    )

    @OptionGroup var interface: InterfaceOption

    @Flag(help: "Print a JSON object instead of text.")
    var json = false

    func run() throws {
        let interface = try self.interface.resolve()
        let attached: AttachedProgram
        do {
            attached = try AttachedProgram.find(on: interface)
        } catch LoaderError.notAttached {
            if json {
                Console.out(JSON.object([("interface", JSON.string(interface.name)), ("attached", "false")]))
            } else {
                Console.out("glb-redirect on \(interface.name): not attached")
            }
            throw ExitCode(3)
        }
        let config = try attached.readConfig()
        let counters = try attached.readCounters()

        if json {
            Console.out(JSON.object([
                ("interface", JSON.string(interface.name)),
                ("attached", "true"),
                ("prog_id", "\(attached.info.id)"),
                ("prog_name", JSON.string(attached.info.name)),
                ("hook", JSON.string(attached.hook.rawValue)),
                ("tc_handle", attached.hook == .clsact ? "\(TCSlot.handle)" : "null"),
                ("tc_priority", attached.hook == .clsact ? "\(TCSlot.priority)" : "null"),
                ("gue_port", "\(config.effectiveGUEPort)"),
                ("netns_id", config.netnsID.map { "\($0)" } ?? "null"),
                ("counters", counters.json),
            ]))
            return
        }
        Console.out("""
            glb-redirect on \(interface.name): attached
              program:  \(attached.info.name), id \(attached.info.id), \(attached.hook.text)
              config:   GUE port \(config.effectiveGUEPort), \(config.socketLookupText)\
            \(config.unknownFlags == 0 ? "" : ", unknown flags 0x\(String(config.unknownFlags, radix: 16))")
              counters: \(counters.summary)
            """)
    }
}
