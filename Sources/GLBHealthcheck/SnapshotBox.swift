import Synchronization

/// The latest snapshot, readable from any thread.
final class SnapshotBox: Sendable {
    private let storage: Mutex<StatusSnapshot>

    init(_ initial: StatusSnapshot) {
        storage = Mutex(initial)
    }

    var value: StatusSnapshot {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
