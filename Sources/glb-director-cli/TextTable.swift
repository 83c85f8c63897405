import GLBCore

/// Column-aligned text for terminal reports.
enum TextTable {
    static func render(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

enum Percent {
    /// "16384 (25.00%)" of the table's rows.
    static func rows(_ n: Int) -> String {
        "\(n) (\(format(Double(n) * 100 / Double(TableLimits.rowCount)))%)"
    }

    /// "25.00%" of the table's rows.
    static func share(_ n: Int) -> String {
        "\(format(Double(n) * 100 / Double(TableLimits.rowCount)))%"
    }

    /// A share with two decimals, without Foundation's formatters.
    static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100, frac = abs(hundredths % 100)
        return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
