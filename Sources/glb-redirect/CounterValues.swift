import GLBCore

/// The program's counters read from map glb_counters, summed over CPUs, in map order.
struct CounterValues: Sendable {
    struct Entry: Sendable {
        let name: String
        let meaning: String?
        let value: UInt64
    }

    let entries: [Entry]

    /// Reads every entry. Names come from the header this binary was built with; entries past
    /// them (a program from a newer header, loaded with --object) are named counter_N.
    static func read(from map: BPFMap) throws -> CounterValues {
        let known = EmbeddedProgram.counters
        var entries: [Entry] = []
        for index in 0..<map.maxEntries {
            let value = try map.perCPUSum(index)
            let info = Int(index) < known.count ? known[Int(index)] : nil
            entries.append(Entry(name: info?.name ?? "counter_\(index)", meaning: info?.meaning, value: value))
        }
        return CounterValues(entries: entries).withSums()
    }

    /// Counters that add detail to an outcome (glb_redirect_counters.h), not outcomes.
    static let details: Set = ["forwarded_skipped_self", "forward_fib_ok", "forward_neigh_fallback"]

    /// Whether a counter is one of the outcomes every packet ends in exactly one of: not the
    /// `packets` sum, not a detail, and not a counter this binary has no name for (a newer
    /// object's, which may be either).
    static func isOutcome(_ name: String) -> Bool {
        name != "packets" && !details.contains(name) && !name.hasPrefix("counter_")
    }

    /// `packets` and `forwarded` filled in: the program leaves them to readers, as the sum of
    /// every outcome and of the two ways of forwarding (glb_redirect_counters.h).
    private func withSums() -> CounterValues {
        let sums: Set = ["packets", "forwarded"]
        let forwarded = self["forward_fib_ok"] &+ self["forward_neigh_fallback"]
        let packets = forwarded &+ sum { Self.isOutcome($0) && !sums.contains($0) }
        return CounterValues(entries: entries.map { entry in
            switch entry.name {
            case "packets": return Entry(name: entry.name, meaning: entry.meaning, value: packets)
            case "forwarded": return Entry(name: entry.name, meaning: entry.meaning, value: forwarded)
            default: return entry
            }
        })
    }

    subscript(name: String) -> UInt64 {
        entries.first { $0.name == name }?.value ?? 0
    }

    private func sum(_ include: (String) -> Bool) -> UInt64 {
        entries.filter { include($0.name) }.reduce(0) { $0 &+ $1.value }
    }

    /// The outcomes an operator looks at first, in one line. Every packet ends in exactly
    /// one outcome (glb_redirect_counters.h), so the four parts add up to `packets`.
    var summary: String {
        let passed: Set = ["not_gue", "outer_fragment", "not_for_this_host"]
        let accepted = sum { $0.hasPrefix("accepted_") }
        let forwarded = self["forwarded"]
        let passedCount = sum { passed.contains($0) }
        let dropped = sum { $0.hasPrefix("drop_") || $0 == "forward_error" || $0 == "decap_error" }
        return "\(self["packets"]) packets: \(accepted) accepted, \(forwarded) forwarded, "
            + "\(passedCount) passed, \(dropped) dropped"
    }

    /// {"name": value, ...} in map order. A count past Int64's range (2^63 packets) is
    /// written as Int64's largest value.
    var json: JSONValue {
        .object(JSONObject(entries.map { ($0.name, .integer(Int64(clamping: $0.value))) }))
    }

    /// One line per counter: name, value, meaning.
    var table: String {
        let nameWidth = entries.map(\.name.count).max() ?? 0
        let valueWidth = entries.map { String($0.value).count }.max() ?? 0
        return entries.map { entry in
            let name = entry.name.rightPadded(to: nameWidth)
            let value = String(entry.value).leftPadded(to: valueWidth, with: " ")
            return "\(name)  \(value)" + (entry.meaning.map { "  \($0)" } ?? "")
        }.joined(separator: "\n")
    }
}
