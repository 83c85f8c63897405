import ArgumentParser
import GLBCore

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a forwarding table contains.",
        discussion: """
            Lists each table's binds and backends (state and health) and, for each backend, \
            how many of the 65,536 rows it holds as primary and as secondary: its share of \
            new flows and of second-chance traffic. Reads a binary table or a JSON source \
            (compiled in memory); a JSON source with weights also shows each backend's \
            weight ("previous -> weight" in a transition table).
            """
    )

    @Argument(help: ArgumentHelp("The forwarding table: compiled binary or JSON source.", valueName: "table"))
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let input: TableInput
        do {
            input = try TableInput.load(path)
        } catch {
            Console.error("\(error)")
            throw CommandFailure()
        }
        if json {
            Console.out(jsonReport(input))
        } else {
            Console.out(textReport(input))
        }
    }

    func textReport(_ input: TableInput) -> String {
        var lines = ["\(path): \(count(input.compiled.tables.count, "table"))"]
        for (t, table) in input.compiled.tables.enumerated() {
            let counts = table.rowCounts()
            lines.append("")
            lines.append("\(input.label(t)): hash_key \(Hex.string(table.hashKey.bytes))")
            lines.append("  binds (\(table.binds.count)):")
            for bind in table.binds { lines.append("    \(bind)") }
            lines.append("  backends (\(table.backends.count)):")
            let weights = t < input.weights.count ? input.weights[t] : nil
            var header = ["#", "address", "state", "health"]
            if weights != nil { header.append("weight") }
            var rows: [[String]] = [header + ["primary rows", "secondary rows"]]
            for (i, b) in table.backends.enumerated() {
                var row = [String(i), b.address.description, b.state.description, b.healthy ? "up" : "down"]
                if let weights { row.append(weights[i].description) }
                rows.append(row + [Percent.rows(counts.primary[i]), Percent.rows(counts.secondary[i])])
            }
            let numeric: Set<Int> = weights == nil ? [0, 4, 5] : [0, 4, 5, 6]
            lines.append(contentsOf: TextTable.render(rows, rightAligned: numeric).map { "    " + $0 })
        }
        return lines.joined(separator: "\n")
    }

    func jsonReport(_ input: TableInput) -> JSONValue {
        var tables: [JSONValue] = []
        for (t, table) in input.compiled.tables.enumerated() {
            let counts = table.rowCounts()
            var object = JSONObject()
            object["index"] = .integer(Int64(t))
            if let name = input.names[t] { object["name"] = .string(name) }
            object["hash_key"] = .string(Hex.string(table.hashKey.bytes))
            object["binds"] = .array(table.binds.map { bind in
                JSONValue.object(JSONObject([
                    ("ip", .string(bind.address.description)),
                    ("prefix_length", .integer(Int64(bind.prefixLength))),
                    ("proto", .string(bind.proto.rawValue)),
                    ("port_start", .integer(Int64(bind.portStart))),
                    ("port_end", .integer(Int64(bind.portEnd))),
                ]))
            })
            object["backends"] = .array(table.backends.enumerated().map { i, b in
                JSONValue.object(JSONObject([
                    ("index", .integer(Int64(i))),
                    ("ip", .string(b.address.description)),
                    ("state", .string(b.state.description)),
                    ("healthy", .bool(b.healthy)),
                ] + input.weightKeys(t, i) + [
                    ("primary_rows", .integer(Int64(counts.primary[i]))),
                    ("secondary_rows", .integer(Int64(counts.secondary[i]))),
                ]))
            })
            tables.append(.object(object))
        }
        return .object(JSONObject([("file", .string(path)), ("tables", .array(tables))]))
    }
}
