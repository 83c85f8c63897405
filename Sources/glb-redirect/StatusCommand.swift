import ArgumentParser
import GLBCore

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
                Console.out(JSONValue.object(["interface": .string(interface.name), "attached": .bool(false)]))
            } else {
                Console.out("glb-redirect on \(interface.name): not attached")
            }
            throw ExitCode(3)
        }
        let config = try attached.readConfig()
        let counters = try attached.readCounters()

        if json {
            let clsact = attached.hook == .clsact
            Console.out(JSONValue.object([
                "interface": .string(interface.name),
                "attached": .bool(true),
                "prog_id": .integer(Int64(attached.info.id)),
                "prog_name": .string(attached.info.name),
                "hook": .string(attached.hook.rawValue),
                "tc_handle": clsact ? .integer(Int64(TCSlot.handle)) : .null,
                "tc_priority": clsact ? .integer(Int64(TCSlot.priority)) : .null,
                "gue_port": .integer(Int64(config.effectiveGUEPort)),
                "netns_id": config.netnsID.map { .integer(Int64($0)) } ?? .null,
                "counters": counters.json,
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
