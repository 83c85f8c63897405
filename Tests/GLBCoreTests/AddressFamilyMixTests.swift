import GLBCore
import Testing

@Suite("Tables mixing IPv4 and IPv6 backends")
struct AddressFamilyMixTests {
    static func compiled(_ ips: [String], inactive: Set<String> = []) -> CompiledForwardingTable {
        let backends = ips.map { Backend(address: IPAddress($0)!, state: inactive.contains($0) ? .inactive : .active, healthy: true) }
        return RendezvousCompiler.compile(ForwardingTableConfig(tables: [CompilerTests.table(backends)]))
    }

    @Test("rows between the families are counted and named per table")
    func mixed() {
        let problems = AddressFamilyMix.problems(Self.compiled(["10.0.0.1", "2001:db8::1"]))
        // Two backends of different families: every row routes between them.
        #expect(problems.map(\.table) == [0])
        #expect(problems.first?.message.hasPrefix("backends mix IPv4 and IPv6: 65536 of 65536 rows (100.0%)") == true)
        let some = AddressFamilyMix.problems(Self.compiled(["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1"]))
        #expect(some.count == 1 && some[0].message.contains("rows (") && !some[0].message.contains("65536 of"))
    }

    @Test("one family per table, or a family only among inactive backends, is no problem")
    func oneFamily() {
        #expect(AddressFamilyMix.problems(Self.compiled(["10.0.0.1", "10.0.0.2"])).isEmpty)
        #expect(AddressFamilyMix.problems(Self.compiled(["2001:db8::1", "2001:db8::2"])).isEmpty)
        #expect(AddressFamilyMix.problems(Self.compiled(["10.0.0.1", "10.0.0.2", "2001:db8::1"], inactive: ["2001:db8::1"])).isEmpty)
    }
}
