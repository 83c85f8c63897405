import GLBCore

/// Renders a `StatusSnapshot` in Prometheus' text exposition format (version 0.0.4).
public enum PrometheusExposition {
    public static let contentType = PrometheusText.contentType

    public static func render(_ snapshot: StatusSnapshot) -> String {
        var out = Writer()

        out.family("glb_healthcheck_backend_healthy", .gauge,
                   "1 when the backend is written healthy to the destination table, 0 when unhealthy (absent until its first result)")
        for (table, backend) in snapshot.allBackends {
            guard let healthy = backend.healthy else { continue }
            out.sample("glb_healthcheck_backend_healthy", labels(table, backend), healthy ? 1 : 0)
        }
        out.family("glb_healthcheck_backend_checked", .gauge,
                   "1 when the backend has checks, 0 when it is written healthy without checks (inactive, or no healthchecks)")
        for (table, backend) in snapshot.allBackends {
            out.sample("glb_healthcheck_backend_checked", labels(table, backend), backend.checked ? 1 : 0)
        }
        out.family("glb_healthcheck_backend_health_since_timestamp_seconds", .gauge,
                   "When the backend's health took its current value (first result or last change), Unix time")
        for (table, backend) in snapshot.allBackends {
            guard let since = backend.health?.since else { continue }
            out.sample("glb_healthcheck_backend_health_since_timestamp_seconds", labels(table, backend), since.secondsSinceEpoch)
        }
        out.family("glb_healthcheck_backend_transitions_total", .counter,
                   "Changes of the backend's health after its first result")
        for (table, backend) in snapshot.allBackends where backend.checked {
            out.sample("glb_healthcheck_backend_transitions_total", labels(table, backend), Double(backend.health?.transitions ?? 0))
        }
        out.family("glb_healthcheck_backend_disagreeing_rounds", .gauge,
                   "Consecutive latest rounds that disagree with the backend's health (it changes at the trigger)")
        for (table, backend) in snapshot.allBackends where backend.checked {
            out.sample("glb_healthcheck_backend_disagreeing_rounds", labels(table, backend),
                       Double(backend.health?.dampener.disagreeing ?? 0))
        }

        out.family("glb_healthcheck_check_passed", .gauge, "1 when the check's latest result passed, 0 when it failed")
        for check in snapshot.checks {
            guard let latest = check.latest else { continue }
            out.sample("glb_healthcheck_check_passed", labels(check.target), latest.outcome.passed ? 1 : 0)
        }
        out.family("glb_healthcheck_check_duration_seconds", .gauge, "How long the check's latest run took")
        for check in snapshot.checks {
            guard let latest = check.latest else { continue }
            out.sample("glb_healthcheck_check_duration_seconds", labels(check.target), latest.outcome.duration.seconds)
        }
        out.family("glb_healthcheck_check_runs_total", .counter, "Runs of the check")
        for check in snapshot.checks {
            out.sample("glb_healthcheck_check_runs_total", labels(check.target), Double(check.runs))
        }
        out.family("glb_healthcheck_check_failures_total", .counter, "Failed runs of the check")
        for check in snapshot.checks {
            out.sample("glb_healthcheck_check_failures_total", labels(check.target), Double(check.failures))
        }

        let c = snapshot.counters
        out.single("glb_healthcheck_rounds_total", .counter, "Check rounds completed", Double(snapshot.rounds))
        if let last = snapshot.lastRound {
            out.single("glb_healthcheck_last_round_timestamp_seconds", .gauge, "When the latest round ended, Unix time",
                       last.secondsSinceEpoch)
        }
        out.single("glb_healthcheck_source_ok", .gauge,
                   "1 when the latest read of the source table succeeded, 0 when it failed (the last good one is in use)",
                   snapshot.sourceError == nil ? 1 : 0)
        out.single("glb_healthcheck_source_loads_total", .counter, "Successful reads of the source table", Double(c.sourceLoads))
        out.single("glb_healthcheck_source_load_failures_total", .counter, "Failed reads of the source table",
                   Double(c.sourceLoadFailures))
        out.single("glb_healthcheck_destination_writes_total", .counter, "Writes of the destination table", Double(c.writes))
        out.single("glb_healthcheck_destination_write_failures_total", .counter, "Failed writes of the destination table",
                   Double(c.writeFailures))
        out.single("glb_healthcheck_reloads_total", .counter, "Runs of the reload command", Double(c.reloads))
        out.single("glb_healthcheck_reload_failures_total", .counter, "Runs of the reload command that failed",
                   Double(c.reloadFailures))
        out.single("glb_healthcheck_reload_pending", .gauge, "1 while a failed reload waits to be retried",
                   snapshot.reloadPending ? 1 : 0)
        out.single("glb_healthcheck_reload_running", .gauge, "1 while the reload command runs (checks go on meanwhile)",
                   snapshot.reloadRunning ? 1 : 0)
        out.single("glb_healthcheck_interval_seconds", .gauge, "Configured time between rounds", snapshot.settings.interval.seconds)
        out.single("glb_healthcheck_timeout_seconds", .gauge, "Configured time limit of each check", snapshot.settings.timeout.seconds)
        out.single("glb_healthcheck_trigger_rounds", .gauge, "Configured rounds in a row needed to change a backend's health",
                   Double(snapshot.settings.trigger))
        out.buildInfo(prefix: "glb_healthcheck")
        return out.text
    }

    static func labels(_ table: StatusSnapshot.TableView, _ backend: StatusSnapshot.BackendView) -> [(String, String)] {
        [("table", table.label), ("backend", "\(backend.address)")]
    }

    static func labels(_ target: CheckTarget) -> [(String, String)] {
        var out = [("backend", "\(target.address)"), ("check", target.kind.rawValue), ("port", String(target.port))]
        if let uri = target.uri { out.append(("uri", uri)) }
        return out
    }

    typealias Writer = PrometheusText
    typealias Kind = PrometheusText.Kind
}

extension StatusSnapshot {
    /// Every backend of every table with its table, in file order.
    var allBackends: [(TableView, BackendView)] {
        tables.flatMap { table in table.backends.map { (table, $0) } }
    }
}
