import GLBCore

extension StatusSnapshot {
    /// The view for people: one line per backend with its health and each check's result.
    ///
    ///     table web
    ///       10.0.0.1  active    healthy    http://10.0.0.1:80/ passed (1.2 ms); gue 10.0.0.1:19523 passed (0.4 ms)
    ///       10.0.0.3  inactive  healthy    not checked
    public var text: String {
        var lines = ["source \(source), round \(rounds)"]
        if let sourceError { lines.append("source error (the last good source is in use): \(sourceError)") }
        for table in tables {
            lines.append("table \(table.label)")
            let width = table.backends.map { "\($0.address)".count }.max() ?? 0
            for backend in table.backends {
                let address = "\(backend.address)".rightPadded(to: width)
                let state = backend.state.rawValue.rightPadded(to: 8)
                let health: String
                switch backend.healthy {
                case true?: health = "healthy"
                case false?: health = "unhealthy"
                case nil: health = "unknown"
                }
                var detail = "not checked"
                if backend.checked {
                    let checks = backend.health?.latest ?? []
                    detail = checks.isEmpty ? "no result yet" : checks.map(Self.describe).joined(separator: "; ")
                }
                lines.append("  \(address)  \(state)  \(health.rightPadded(to: 9))  \(detail)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ record: CheckRecord) -> String {
        let time = record.outcome.duration.humanReadable
        if record.outcome.passed { return "\(record.target) passed (\(time))" }
        return "\(record.target) FAILED (\(time)): \(record.outcome.failure ?? "failed")"
    }
}
