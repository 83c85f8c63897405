import GLBCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reload history and the loaded table's shape, shared with the metrics endpoint.
final class DirectorStatus: Sendable {
    struct State {
        var generation: UInt64 = 1
        var reloads: UInt64 = 0
        var failedReloads: UInt64 = 0
        var lastReload: Double
        var tables: Int
        var binds: Int
        var backends: Int
    }

    private let state: Mutex<State>

    init(tables: CompiledForwardingTable) {
        state = Mutex(State(lastReload: Self.now(), tables: tables.tables.count,
                            binds: tables.tables.reduce(0) { $0 + $1.binds.count },
                            backends: tables.tables.reduce(0) { $0 + $1.backends.count }))
    }

    var snapshot: State { state.withLock { $0 } }
    var generation: UInt64 { snapshot.generation }

    func reloaded(tables: CompiledForwardingTable) {
        state.withLock {
            $0.generation += 1
            $0.reloads += 1
            $0.lastReload = Self.now()
            $0.tables = tables.tables.count
            $0.binds = tables.tables.reduce(0) { $0 + $1.binds.count }
            $0.backends = tables.tables.reduce(0) { $0 + $1.backends.count }
        }
    }

    func reloadFailed() {
        state.withLock { $0.failedReloads += 1 }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func summary(_ tables: CompiledForwardingTable) -> String {
        let binds = tables.tables.reduce(0) { $0 + $1.binds.count }
        let backends = tables.tables.reduce(0) { $0 + $1.backends.count }
        return "\(tables.tables.count) table(s), \(binds) bind(s), \(backends) backend(s)"
    }
}
