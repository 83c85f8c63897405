import ArgumentParser
import GLBCore

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how many flows a table change moves, and whether second chance keeps them.",
        discussion: """
            Compares two forwarding tables (each a JSON source or a compiled binary) table by \
            table. For each table: how many of the 65,536 rows change primary or secondary; \
            per backend, rows held before and after; and of the flows whose primary changes, \
            the share that second chance keeps (the old primary becomes the secondary, so \
            glb-redirect on the new primary sends their packets on to it) and the share whose \
            connections break (the old primary is in neither slot). Draining a backend should \
            show every moved flow kept by second chance, and so should a weight change written \
            as a transition table (with previous_weight); JSON inputs with weights also show \
            each backend's weight before and after.
            """
    )

    @Argument(help: ArgumentHelp("The current table (JSON or binary).", valueName: "old"))
    var oldPath: String

    @Argument(help: ArgumentHelp("The proposed table (JSON or binary).", valueName: "new"))
    var newPath: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Exit with status 2 if any flow would break (for scripts that gate a change).")
    var failOnBroken = false

    func run() throws {
        let old: TableInput, new: TableInput
        do {
            old = try TableInput.load(oldPath)
            new = try TableInput.load(newPath)
        } catch {
            Console.error("\(error)")
            throw CommandFailure()
        }
        let count = min(old.compiled.tables.count, new.compiled.tables.count)
        let diffs = (0..<count).map { TableDiff(old: old.compiled.tables[$0], new: new.compiled.tables[$0]) }
        if json {
            Console.out(jsonReport(old, new, diffs))
        } else {
            Console.out(textReport(old, new, diffs))
        }
        if failOnBroken && diffs.contains(where: { $0.broken > 0 }) {
            throw CommandFailure(status: 2)
        }
    }

    func label(_ old: TableInput, _ new: TableInput, _ t: Int) -> String {
        t < new.names.count && new.names[t] != nil ? new.label(t) : old.label(t)
    }

    func textReport(_ old: TableInput, _ new: TableInput, _ diffs: [TableDiff]) -> String {
        var lines: [String] = []
        for (t, d) in diffs.enumerated() {
            if t > 0 { lines.append("") }
            lines.append("\(label(old, new, t)):")
            if d.hashKeyChanged {
                lines.append("  hash_key changed: every flow moves to another row (figures are expectations over all flows)")
            }
            lines.append("  primary changes:   \(Percent.rows(d.primaryChanged)) of rows")
            lines.append("  secondary changes: \(Percent.rows(d.secondaryChanged)) of rows")
            lines.append("  kept by second chance: \(Percent.rows(d.savedBySecondChance)) of flows")
            lines.append("  broken:                \(Percent.rows(d.broken)) of flows")
            let weighted = weights(old, t) != nil || weights(new, t) != nil
            var rows = [["address", "before", "after"] + (weighted ? ["weight"] : []) + ["primary rows", "primary share", "secondary rows"]]
            for b in d.backends {
                var row = [b.address.description, Diff.describe(b.old), Diff.describe(b.new)]
                if weighted { row.append("\(weight(old, t, b.address)) -> \(weight(new, t, b.address))") }
                rows.append(row + [
                    "\(b.oldPrimaryRows) -> \(b.newPrimaryRows)", "\(Percent.share(b.oldPrimaryRows)) -> \(Percent.share(b.newPrimaryRows))",
                    "\(b.oldSecondaryRows) -> \(b.newSecondaryRows)",
                ])
            }
            let numeric: Set<Int> = weighted ? [3, 4, 5, 6] : [3, 4, 5]
            lines.append(contentsOf: TextTable.render(rows, rightAligned: numeric).map { "    " + $0 })
        }
        for t in diffs.count..<max(old.compiled.tables.count, new.compiled.tables.count) {
            if t < old.compiled.tables.count {
                lines.append("\(old.label(t)): removed (\(old.compiled.tables[t].binds.count) binds stop being served)")
            } else {
                lines.append("\(new.label(t)): added")
            }
        }
        return lines.joined(separator: "\n")
    }

    func weights(_ input: TableInput, _ t: Int) -> [TableInput.BackendWeights]? {
        t < input.weights.count ? input.weights[t] : nil
    }

    /// A backend's weight in one input: "-" when absent from the table, "?" for a binary table.
    func weight(_ input: TableInput, _ t: Int, _ address: IPAddress) -> String {
        guard let b = input.compiled.tables[t].backends.firstIndex(where: { $0.address == address }) else { return "-" }
        guard let w = weights(input, t) else { return input.isBinary ? "?" : "1" }
        return w[b].weight.map(String.init) ?? "1"
    }

    static func describe(_ b: CompiledBackend?) -> String {
        guard let b else { return "-" }
        return "\(b.state)/\(b.healthy ? "up" : "down")"
    }

    func jsonReport(_ old: TableInput, _ new: TableInput, _ diffs: [TableDiff]) -> JSONValue {
        func backend(_ b: CompiledBackend?) -> JSONValue {
            guard let b else { return .null }
            return .object(JSONObject([("state", .string(b.state.description)), ("healthy", .bool(b.healthy))]))
        }
        let tables = diffs.enumerated().map { t, d -> JSONValue in
            .object(JSONObject([
                ("index", .integer(Int64(t))),
                ("name", (new.names[t] ?? old.names[t]).map { .string($0) } ?? .null),
                ("rows", .integer(Int64(TableLimits.rowCount))),
                ("primary_changed", .integer(Int64(d.primaryChanged))),
                ("secondary_changed", .integer(Int64(d.secondaryChanged))),
                ("kept_by_second_chance", .integer(Int64(d.savedBySecondChance))),
                ("broken", .integer(Int64(d.broken))),
                ("hash_key_changed", .bool(d.hashKeyChanged)),
                ("backends", .array(d.backends.map { b in
                    .object(JSONObject([
                        ("ip", .string(b.address.description)),
                        ("before", backend(b.old)),
                        ("after", backend(b.new)),
                        ("primary_rows_before", .integer(Int64(b.oldPrimaryRows))),
                        ("primary_rows_after", .integer(Int64(b.newPrimaryRows))),
                        ("secondary_rows_before", .integer(Int64(b.oldSecondaryRows))),
                        ("secondary_rows_after", .integer(Int64(b.newSecondaryRows))),
                    ] + weightKeys(old, t, b.address, suffix: "_before") + weightKeys(new, t, b.address, suffix: "_after")))
                })),
            ]))
        }
        return .object(JSONObject([
            ("old", .string(oldPath)), ("new", .string(newPath)),
            ("tables", .array(tables)),
            ("tables_removed", .integer(Int64(max(0, old.compiled.tables.count - new.compiled.tables.count)))),
            ("tables_added", .integer(Int64(max(0, new.compiled.tables.count - old.compiled.tables.count)))),
        ]))
    }

    /// `weight_before`/`previous_weight_after`… keys for a backend present in a JSON input with weights.
    func weightKeys(_ input: TableInput, _ t: Int, _ address: IPAddress, suffix: String) -> [(String, JSONValue)] {
        guard let b = input.compiled.tables[t].backends.firstIndex(where: { $0.address == address }) else { return [] }
        return input.weightKeys(t, b).map { ($0.0 + suffix, $0.1) }
    }
}
