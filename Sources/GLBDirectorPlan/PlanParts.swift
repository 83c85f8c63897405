import GLBCore

extension DirectorPlan {
    /// Which loop an lcore runs.
    public enum Role: Equatable, Sendable, CustomStringConvertible {
        /// Receives on its flow paths, runs the packet path and transmits itself.
        case runToCompletion
        /// GLB's distributor: receives and transmits for its flow paths and hands the packets to
        /// `workers` (lcore ids) over rings; it does not run the packet path.
        case distributor(workers: [Int])
        /// Runs the packet path on what `distributor` hands it; `slot` is its place among that
        /// distributor's workers, and so the index of its rings.
        case worker(distributor: Int, slot: Int)

        /// As the start-up log names it.
        public var description: String {
            switch self {
            case .runToCompletion: return "run-to-completion"
            case .distributor: return "distributor"
            case .worker(let distributor, _): return "worker of lcore \(distributor)"
            }
        }
    }

    /// One DPDK queue: a port and a queue index.
    public struct Queue: Hashable, Sendable, CustomStringConvertible {
        public var port: UInt16
        public var queue: UInt16

        public init(port: UInt16, queue: UInt16) {
            self.port = port
            self.queue = queue
        }

        public var description: String { "port \(port)/queue \(queue)" }
    }

    /// A flow path an lcore polls, with the queue its unmatched packets take to the kernel
    /// (on the TAP of the rx port) when it has an exception path.
    public struct RxPath: Equatable, Sendable {
        public var flowPath: FlowPath
        public var exceptionQueue: UInt16?

        public init(flowPath: FlowPath, exceptionQueue: UInt16?) {
            self.flowPath = flowPath
            self.exceptionQueue = exceptionQueue
        }
    }

    /// A TAP queue an lcore drains: what the kernel sends on NIC port `port`'s TAP leaves by
    /// that port, on `txQueue`, a queue the lcore already writes.
    public struct KernelPath: Equatable, Sendable {
        public var port: UInt16
        public var tapQueue: UInt16
        public var txQueue: UInt16

        public init(port: UInt16, tapQueue: UInt16, txQueue: UInt16) {
            self.port = port
            self.tapQueue = tapQueue
            self.txQueue = txQueue
        }
    }

    /// One lcore the director launches, with everything the runtime gives its loop.
    public struct Lcore: Equatable, Sendable {
        public var id: Int
        public var role: Role
        /// The flow paths it polls; none for a worker, which receives from its ring.
        public var rxPaths: [RxPath]
        /// The TAP queues it drains (lcores with `kni`).
        public var kernelPaths: [KernelPath]
        /// NIC ports whose TAP has a queue of this lcore although none of its flow paths
        /// transmits there: the kernel's packets on that queue are not forwarded.
        public var kernelPortsWithoutTx: [UInt16]
        /// Its block of engine counters (rx, tx, drops, loops): every lcore has one.
        public var engineBlock: Int
        /// Its block of packet-path counters, which is also its RCU thread id; nil for a
        /// distributor, which does not run the packet path.
        public var packetBlock: Int?

        /// The lcore whose flow paths' routes it uses: itself, or a worker's distributor.
        public var routeSource: Int {
            if case .worker(let distributor, _) = role { return distributor }
            return id
        }

        /// The queues it transmits on (each has one writer).
        public var txQueues: [Queue] {
            var seen = Set<Queue>()
            return rxPaths.map { Queue(port: $0.flowPath.txPort, queue: $0.flowPath.txQueue) }.filter { seen.insert($0).inserted }
        }

        /// The queues it receives on (each has one reader).
        public var rxQueues: [Queue] { rxPaths.map { Queue(port: $0.flowPath.rxPort, queue: $0.flowPath.rxQueue) } }
    }

    /// A single-producer, single-consumer ring between a distributor and one of its workers.
    public struct Ring: Equatable, Sendable {
        public enum Kind: CaseIterable, Equatable, Sendable {
            /// Packets the distributor received, to be processed.
            case toWorker
            /// Processed packets, for the distributor to transmit.
            case fromWorker
            /// Unmatched packets, for the distributor's exception path.
            case exceptions

            var prefix: String {
                switch self {
                case .toWorker: return "glb_to_"
                case .fromWorker: return "glb_from_"
                case .exceptions: return "glb_exc_"
                }
            }
        }

        public var kind: Kind
        public var distributor: Int
        public var worker: Int
        /// The worker's place among the distributor's workers.
        public var slot: Int

        /// DPDK's name for the ring (unique per process: a worker has one distributor).
        public var name: String { kind.prefix + "\(worker)" }
    }

    /// An exception TAP (`vglb_kniN` for NIC port N): one queue per lcore with `kni` that
    /// receives on the port, in ascending lcore order.
    public struct Tap: Equatable, Sendable {
        public var port: UInt16
        public var lcores: [Int]

        public init(port: UInt16, lcores: [Int]) {
            self.port = port
            self.lcores = lcores
        }

        public var name: String { "vglb_kni\(port)" }
    }
}
