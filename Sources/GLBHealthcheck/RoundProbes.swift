import GLBCore

/// The checks of one round, run concurrently with structured concurrency: one child task per
/// target, each bounded by the timeout (and a short grace for the prober to answer).
enum RoundProbes {
    /// Probes every target concurrently; each result arrives within its timeout plus a short
    /// grace, or counts as failed.
    static func run(_ targets: [CheckTarget], prober: any Prober, timeout: Duration,
                    clock: any Clock<Duration>) async -> [CheckTarget: ProbeOutcome] {
        await withTaskGroup(of: (CheckTarget, ProbeOutcome).self) { group in
            for target in targets {
                group.addTask { (target, await probe(target, prober: prober, timeout: timeout, clock: clock)) }
            }
            var out: [CheckTarget: ProbeOutcome] = [:]
            for await (target, outcome) in group { out[target] = outcome }
            return out
        }
    }

    /// The grace a prober gets beyond the timeout before its check is abandoned.
    static let overrunGrace = Duration.milliseconds(500)

    static func probe(_ target: CheckTarget, prober: any Prober, timeout: Duration,
                      clock: any Clock<Duration>) async -> ProbeOutcome {
        await withTaskGroup(of: ProbeOutcome?.self) { group in
            group.addTask { await prober.probe(target, timeout: timeout) }
            group.addTask {
                do {
                    try await clock.sleep(for: timeout + overrunGrace)
                } catch {
                    return nil
                }
                return .failed("no result within the \(timeout.humanReadable) timeout", after: timeout + overrunGrace)
            }
            while let next = await group.next() {
                if let outcome = next {
                    group.cancelAll()
                    return outcome
                }
            }
            return .failed("cancelled", after: .zero)
        }
    }
}
