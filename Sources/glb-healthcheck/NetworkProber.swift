import GLBHealthcheck
import NIOCore

/// Runs each kind of check over the network, on NIO's event loops.
struct NetworkProber: Prober {
    let group: any EventLoopGroup

    func probe(_ target: CheckTarget, timeout: Duration) async -> ProbeOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            switch target.kind {
            case .http: try await HTTPProbe.check(target, timeout: timeout, group: group)
            case .tcp: try await TCPProbe.check(target, timeout: timeout, group: group)
            case .gue, .fou: try await TunnelProbe.check(target, timeout: timeout, group: group)
            }
            return .passed(after: clock.now - start)
        } catch {
            return .failed(ProbeFailure.describe(error), after: clock.now - start)
        }
    }
}
