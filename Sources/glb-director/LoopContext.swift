import CDPDKShim
import GLBDirectorPlan
import GLBPacket

/// Where packets received on one rx port go: the tx port and queue of its flow path, that
/// port's MAC (the outer Ethernet source), the rx port's own MAC (which frames are for us),
/// and the exception TAP queue if any.
struct PortRoute {
    var txPort: UInt16 = 0
    var txQueue: UInt16 = 0
    var mac: (UInt32, UInt16) = (0, 0)
    var rxMAC: (UInt32, UInt16) = (0, 0)
    var tapPort: UInt16 = PortRoute.none
    var tapQueue: UInt16 = 0

    static let none: UInt16 = 0xffff
    var hasExceptionPath: Bool { tapPort != PortRoute.none }
}

/// One rx queue an lcore polls, with its route.
struct RxPath {
    var rxPort: UInt16
    var rxQueue: UInt16
    var route: PortRoute
}

/// Everything an lcore's loop reads, in plain memory: no Swift objects, so the loop does
/// no reference counting.
struct LoopContext {
    var paths: UnsafeMutablePointer<RxPath>
    var pathCount: Int = 0
    /// The current forwarding plane (a `PlaneView`), published by the main lcore.
    var planeSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    var qsbr: OpaquePointer?
    var qsbrThread: UInt32 = 0
    var counters: WorkerCounters
    var engine: EngineCounters
    /// Set to 1 once the loop runs.
    var running: UnsafeMutablePointer<UInt32>
    /// Distributor and its workers: rings to and from each worker.
    var toWorker: UnsafeMutablePointer<OpaquePointer?>?
    var fromWorker: UnsafeMutablePointer<OpaquePointer?>?
    var exceptionsFromWorker: UnsafeMutablePointer<OpaquePointer?>?
    var workerCount: Int = 0
    /// Routes by rx port id (distributor mode: a returning packet is routed by `mbuf.port`).
    var routesByPort: UnsafeMutablePointer<PortRoute>
    /// Kernel-to-wire: the TAP queues this lcore drains and where their packets go.
    var kernelPaths: UnsafeMutablePointer<RxPath>
    var kernelPathCount: Int = 0
    /// `idle_sleep_us`: 0 never sleeps.
    var idleSleepMicroseconds: UInt32 = 0
}

/// Fixed burst size of every loop (the memory plan counts on it).
var burstSize: Int { DirectorPlan.burstSize }
