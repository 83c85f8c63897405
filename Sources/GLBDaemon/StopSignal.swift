import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT ask a daemon's loop to stop; SIGPIPE is ignored (a peer that goes away
/// must not end the process).
public enum StopSignal {
    private static let flag = Atomic<Bool>(false)

    public static func install() {
        // The flag is made here, before any handler can run: a Swift static is initialised
        // lazily, which a signal handler must not do.
        flag.store(false, ordering: .relaxed)
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGTERM, SIGINT] {
            signal(number) { _ in StopSignal.flag.store(true, ordering: .relaxed) }
        }
    }

    public static var requested: Bool { flag.load(ordering: .relaxed) }
}
