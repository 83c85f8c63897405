import GLBCore

/// Everything the director sets up, decided before any of it is: which loop each lcore runs
/// on which queues, the rings between distributors and workers, the exception TAPs and their
/// queues, the counter blocks each lcore writes, and the mbuf pool. It is computed in one pass
/// from director.conf's layout and what EAL provides; the runtime creates exactly this, and
/// the metrics label the counter blocks by it.
public struct DirectorPlan: Equatable, Sendable {
    /// What EAL provides that the plan depends on.
    public struct EAL: Equatable, Sendable {
        /// Lcores EAL runs, its main lcore included: each holds a mempool cache.
        public var lcoreCount: Int
        /// Driver names of the ports the flow paths use (AF_XDP limits the data room).
        public var drivers: [String]

        public init(lcoreCount: Int, drivers: [String]) {
            self.lcoreCount = lcoreCount
            self.drivers = drivers
        }

        public var hasAFXDP: Bool { drivers.contains { $0.contains("af_xdp") } }
    }

    /// Packets each loop receives, processes and sends at once.
    @inlinable public static var burstSize: Int { 32 }

    public let layout: DirectorLayout
    /// What EAL provided (or, before EAL starts, what its options promise).
    public let eal: EAL
    /// Queues of every port (`num_worker_queues`).
    public let queuesPerPort: Int
    /// Every lcore the director launches, in launch order: run-to-completion lcores, then
    /// each distributor after its workers (a distributor hands packets to running workers).
    /// An lcore's engine block is its place here.
    public let lcores: [Lcore]
    /// The rings, in creation order.
    public let rings: [Ring]
    /// The exception TAPs, by NIC port ascending.
    public let taps: [Tap]
    public let memory: MemoryPlan

    /// The NIC ports the flow paths use, ascending.
    public var ports: [UInt16] { layout.ports }

    /// The lcores that run the packet path, in the order of their packet-path counter blocks.
    public var processingLcores: [Lcore] {
        lcores.filter { $0.packetBlock != nil }.sorted { $0.packetBlock! < $1.packetBlock! }
    }

    public func lcore(_ id: Int) -> Lcore? { lcores.first { $0.id == id } }

    public init(config: DirectorConfig, layout: DirectorLayout, eal: EAL) {
        self.layout = layout
        self.eal = eal
        queuesPerPort = config.numWorkerQueues

        // Each TAP has a queue for every lcore with `kni` that receives on its port.
        let receivers = layout.runToCompletion.map { (lcore: $0.lcore, paths: $0.flowPaths, exceptionPath: $0.exceptionPath) }
            + layout.distributors.map { (lcore: $0.lcore, paths: $0.flowPaths, exceptionPath: $0.exceptionPath) }
        let taps = layout.exceptionPorts.map { port in
            Tap(port: port, lcores: receivers.filter { $0.exceptionPath && $0.paths.contains { $0.rxPort == port } }.map(\.lcore).sorted())
        }
        self.taps = taps

        func receiving(_ lcore: Int, role: Role, paths: [FlowPath], exceptionPath: Bool, engine: Int, packet: Int?) -> Lcore {
            func tapQueue(_ port: UInt16) -> UInt16? {
                guard exceptionPath, let queue = taps.first(where: { $0.port == port })?.lcores.firstIndex(of: lcore) else { return nil }
                return UInt16(queue)
            }
            // Kernel to wire: each TAP queue of this lcore goes out of its NIC port on a tx
            // queue this lcore owns.
            var kernel: [KernelPath] = [], withoutTx: [UInt16] = []
            for tap in taps {
                guard let queue = tapQueue(tap.port) else { continue }
                if let out = paths.first(where: { $0.txPort == tap.port }) {
                    kernel.append(KernelPath(port: tap.port, tapQueue: queue, txQueue: out.txQueue))
                } else {
                    withoutTx.append(tap.port)
                }
            }
            return Lcore(id: lcore, role: role, rxPaths: paths.map { RxPath(flowPath: $0, exceptionQueue: tapQueue($0.rxPort)) },
                         kernelPaths: kernel, kernelPortsWithoutTx: withoutTx, engineBlock: engine, packetBlock: packet)
        }

        var lcores: [Lcore] = [], rings: [Ring] = []
        var packetBlocks = 0
        for rtc in layout.runToCompletion {
            lcores.append(receiving(rtc.lcore, role: .runToCompletion, paths: rtc.flowPaths, exceptionPath: rtc.exceptionPath,
                                    engine: lcores.count, packet: packetBlocks))
            packetBlocks += 1
        }
        for dist in layout.distributors {
            for (slot, worker) in dist.workers.enumerated() {
                rings += Ring.Kind.allCases.map { Ring(kind: $0, distributor: dist.lcore, worker: worker, slot: slot) }
                lcores.append(Lcore(id: worker, role: .worker(distributor: dist.lcore, slot: slot), rxPaths: [], kernelPaths: [],
                                    kernelPortsWithoutTx: [], engineBlock: lcores.count, packetBlock: packetBlocks))
                packetBlocks += 1
            }
            lcores.append(receiving(dist.lcore, role: .distributor(workers: dist.workers), paths: dist.flowPaths,
                                    exceptionPath: dist.exceptionPath, engine: lcores.count, packet: nil))
        }
        self.lcores = lcores
        self.rings = rings

        memory = MemoryPlan(
            MemoryPlan.Demand(
                ports: layout.ports.count, queuesPerPort: config.numWorkerQueues, exceptionPorts: taps.count,
                exceptionLcores: receivers.filter(\.exceptionPath).count, rings: rings.count,
                lcores: eal.lcoreCount, afXDP: eal.hasAFXDP),
            poolSize: config.mbufPoolSize, dataSize: config.mbufDataSize)
    }
}
