import GLBCore
import GLBDaemon
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
        let shape = Self.shape(tables)
        state = Mutex(State(lastReload: DaemonClock.unixSeconds(), tables: shape.tables, binds: shape.binds, backends: shape.backends))
    }

    var snapshot: State { state.withLock { $0 } }
    var generation: UInt64 { snapshot.generation }

    func reloaded(tables: CompiledForwardingTable) {
        let shape = Self.shape(tables)
        state.withLock {
            $0.generation += 1
            $0.reloads += 1
            $0.lastReload = DaemonClock.unixSeconds()
            ($0.tables, $0.binds, $0.backends) = (shape.tables, shape.binds, shape.backends)
        }
    }

    func reloadFailed() {
        state.withLock { $0.failedReloads += 1 }
    }


    static func shape(_ file: CompiledForwardingTable) -> (tables: Int, binds: Int, backends: Int) {
        (file.tables.count, file.tables.reduce(0) { $0 + $1.binds.count }, file.tables.reduce(0) { $0 + $1.backends.count })
    }

    static func summary(_ file: CompiledForwardingTable) -> String {
        let shape = shape(file)
        return "\(shape.tables) table(s), \(shape.binds) bind(s), \(shape.backends) backend(s)"
    }
}
