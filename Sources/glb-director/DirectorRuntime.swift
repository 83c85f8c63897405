import CDPDKShim
import GLBCore
import GLBDirectorPlan
import GLBPacket

#if canImport(Glibc)
import Glibc
#endif

/// The running director on the main lcore: brings up ports, launches the lcore loops,
/// reloads the forwarding table, and shuts everything down in order.
final class DirectorRuntime {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let config: DirectorConfig
    let plan: DirectorPlan
    let tablePath: String
    /// Every NIC port computes outer UDP checksums (`PortSetup.udpChecksumOffload`): planes
    /// are built for it and the ports are asked to.
    let udpChecksumOffload: Bool
    let status: DirectorStatus
    private(set) var plane: ForwardingPlane
    private let planeSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private var qsbr: OpaquePointer?
    private var pool: OpaquePointer?
    private(set) var nicPorts: [PortSetup.Port] = []
    private(set) var tapPorts: [UInt16: PortSetup.Port] = [:]
    /// Packet-path counters, one block per lcore that runs the packet path (`Lcore.packetBlock`).
    let counters: CounterStorage
    /// Engine counters, one block per launched lcore (`Lcore.engineBlock`).
    let engine: EngineCounterStorage
    /// The lcores launched so far, in launch order (all of the plan's once `start` succeeds).
    private(set) var launched: [(lcore: DirectorPlan.Lcore, context: UnsafeMutablePointer<LoopContext>)] = []
    private var rings: [OpaquePointer] = []
    /// Each distributor's rings, by kind, indexed by worker slot.
    private var workerRings: [Int: [DirectorPlan.Ring.Kind: UnsafeMutablePointer<OpaquePointer?>]] = [:]
    /// What each receiving lcore polls and where its packets go, made once.
    private var receiving: [Int: Receiving] = [:]
    private var allocations: [UnsafeMutableRawPointer] = []

    init(config: DirectorConfig, plan: DirectorPlan, tablePath: String, plane: ForwardingPlane, tables: CompiledForwardingTable,
         udpChecksumOffload: Bool) {
        self.config = config
        self.plan = plan
        self.udpChecksumOffload = udpChecksumOffload
        self.tablePath = tablePath
        self.plane = plane
        self.status = DirectorStatus(tables: tables)
        planeSlot = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
        planeSlot.initialize(to: UnsafeMutableRawPointer(mutating: plane.view))
        counters = CounterStorage(workers: plan.processingLcores.count)
        engine = EngineCounterStorage(lcores: plan.lcores.count)
    }

    /// What the plan needs from EAL, once it has started.
    static func ealResources(_ layout: DirectorLayout) -> DirectorPlan.EAL {
        DirectorPlan.EAL(lcoreCount: Int(rte_lcore_count()), drivers: layout.ports.map(PortSetup.driverName))
    }

    // MARK: Start-up

    /// Checks the lcores, creates the mbuf pool, starts ports and TAPs and launches every loop.
    func start() throws(Failure) {
        try checkLcores()
        let memory = plan.memory
        if plan.eal.hasAFXDP {
            log.info("AF_XDP port(s): mbufs hold frames up to \(memory.maxFrame) bytes (jumbo frames need net_af_packet or a NIC driver)")
        }
        pool = rte_pktmbuf_pool_create("glb_mbufs", UInt32(memory.mbufs), UInt32(MemoryPlan.cacheSize), 0, UInt16(memory.dataRoom), Int32(rte_socket_id()))
        guard let pool else {
            throw Failure(description: "cannot create the mbuf pool (\(memory.mbufs) mbufs of \(memory.dataRoom) bytes, about \(memory.bytes >> 20) MB): \(String(cString: rte_strerror(glb_rte_errno()))); \(HugepageCheck.advice), or lower mbuf_pool_size")
        }
        log.info("mbuf pool: \(memory.mbufs) mbufs of \(memory.dataRoom) bytes (\(config.mbufPoolSize == nil ? "sized for \(plan.ports.count) port(s) x \(plan.queuesPerPort) queue(s)" : "mbuf_pool_size"), about \(memory.bytes >> 20) MB)")

        for port in plan.ports {
            do {
                nicPorts.append(try PortSetup.start(port: port, queues: plan.queuesPerPort,
                                                    descriptors: (MemoryPlan.rxDescriptors, MemoryPlan.txDescriptors),
                                                    pool: pool, rxDropEnabled: config.rxDropEnabled, maxFrame: memory.maxFrame,
                                                    udpChecksumOffload: udpChecksumOffload))
            } catch {
                throw Failure(description: error.description)
            }
        }
        for tap in plan.taps {
            do {
                tapPorts[tap.port] = try PortSetup.createTap(forPort: tap.port, mac: mac(of: tap.port), queues: tap.lcores.count, pool: pool,
                                                             maxFrame: memory.maxFrame)
            } catch {
                throw Failure(description: error.description)
            }
        }

        qsbr = glb_qsbr_create(UInt32(max(plan.processingLcores.count, 1)))
        guard qsbr != nil else { throw Failure(description: "cannot allocate the RCU state for \(plan.processingLcores.count) workers") }
        try createRings()
        for lcore in plan.lcores {
            try launch(lcore)
        }
        try waitUntilRunning()
    }

    private func checkLcores() throws(Failure) {
        let main = Int(rte_get_main_lcore())
        for lcore in plan.layout.allLcores {
            if lcore == main {
                throw Failure(description: Self.mainLcoreMessage(lcore))
            }
            if lcore >= Int(RTE_MAX_LCORE) || rte_lcore_is_enabled(UInt32(lcore)) == 0 {
                throw Failure(description: Self.disabledLcoreMessage(lcore, enabled: enabledLcores()))
            }
        }
        for port in plan.ports where rte_eth_dev_is_valid_port(port) == 0 {
            throw Failure(description: Self.missingPortMessage(port, found: Int(rte_eth_dev_count_avail())))
        }
    }

    // The same words whether the mistake is found before EAL starts (StartChecks) or by EAL.
    static func mainLcoreMessage(_ lcore: Int) -> String {
        "lcores.lcore-\(lcore): lcore \(lcore) is EAL's main lcore, which handles signals, reloads and metrics; give the packet loops other lcores (EAL -l/--lcores) and leave the first one out of director.conf"
    }

    static func disabledLcoreMessage(_ lcore: Int, enabled: String) -> String {
        "lcores.lcore-\(lcore): lcore \(lcore) is not enabled in EAL; add it to -l/--lcores (EAL has \(enabled))"
    }

    static func missingPortMessage(_ port: UInt16, found: Int) -> String {
        "flow_paths: port \(port) does not exist; EAL finds \(found) port(s) (add --vdev=net_af_packet0,iface=IF or a PCI device with -a)"
    }

    private func enabledLcores() -> String {
        (0..<Int(RTE_MAX_LCORE)).filter { rte_lcore_is_enabled(UInt32($0)) != 0 }.map(String.init).joined(separator: ",")
    }

    private func mac(of port: UInt16) -> MACAddress {
        nicPorts.first { $0.id == port }?.mac ?? PortSetup.macAddress(port)
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        allocations.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// Creates the plan's rings and, for each distributor, the arrays its loop and its workers'
    /// loops read them from.
    private func createRings() throws(Failure) {
        for lcore in plan.lcores {
            guard case .distributor(let workers) = lcore.role else { continue }
            var arrays: [DirectorPlan.Ring.Kind: UnsafeMutablePointer<OpaquePointer?>] = [:]
            for kind in DirectorPlan.Ring.Kind.allCases {
                arrays[kind] = allocate(OpaquePointer?.self, count: workers.count)
                arrays[kind]!.initialize(repeating: nil, count: max(workers.count, 1))
            }
            workerRings[lcore.id] = arrays
        }
        for ring in plan.rings {
            guard let created = rte_ring_create(ring.name, UInt32(MemoryPlan.ringSize), Int32(rte_socket_id()), UInt32(RING_F_SP_ENQ | RING_F_SC_DEQ)) else {
                throw Failure(description: "cannot create ring \(ring.name): \(String(cString: rte_strerror(glb_rte_errno())))")
            }
            rings.append(created)
            workerRings[ring.distributor]![ring.kind]![ring.slot] = created
        }
    }

    /// What a receiving lcore's loop polls, its routes by rx port, and the TAP queues it drains.
    private struct Receiving {
        var paths: UnsafeMutablePointer<RxPath>
        var pathCount: Int
        var routesByPort: UnsafeMutablePointer<PortRoute>
        var kernelPaths: UnsafeMutablePointer<RxPath>
        var kernelPathCount: Int
    }

    /// The receiving side of `lcore` (a run-to-completion lcore or a distributor), made the
    /// first time its loop or one of its workers' needs it.
    private func receivingSide(of lcore: DirectorPlan.Lcore) -> Receiving {
        if let made = receiving[lcore.id] { return made }
        let paths = allocate(RxPath.self, count: lcore.rxPaths.count)
        for (i, path) in lcore.rxPaths.enumerated() {
            let flow = path.flowPath
            var route = PortRoute(txPort: flow.txPort, txQueue: flow.txQueue, mac: mac(of: flow.txPort).packetWords,
                                  rxMAC: mac(of: flow.rxPort).packetWords)
            if let queue = path.exceptionQueue, let tap = tapPorts[flow.rxPort] {
                route.tapPort = tap.id
                route.tapQueue = queue
            }
            paths[i] = RxPath(rxPort: flow.rxPort, rxQueue: flow.rxQueue, route: route)
        }
        let routes = allocate(PortRoute.self, count: Int(RTE_MAX_ETHPORTS))
        routes.initialize(repeating: PortRoute(), count: Int(RTE_MAX_ETHPORTS))
        for i in 0..<lcore.rxPaths.count { routes[Int(paths[i].rxPort)] = paths[i].route }
        for port in lcore.kernelPortsWithoutTx {
            log.warning("lcore \(lcore.id): no flow path transmits on port \(port), so packets the kernel sends on vglb_kni\(port) are not forwarded by this lcore")
        }
        let kernel = lcore.kernelPaths.compactMap { k in
            tapPorts[k.port].map { RxPath(rxPort: $0.id, rxQueue: k.tapQueue, route: PortRoute(txPort: k.port, txQueue: k.txQueue)) }
        }
        let kernelPaths = allocate(RxPath.self, count: kernel.count)
        for (i, k) in kernel.enumerated() { kernelPaths[i] = k }
        let made = Receiving(paths: paths, pathCount: lcore.rxPaths.count, routesByPort: routes, kernelPaths: kernelPaths, kernelPathCount: kernel.count)
        receiving[lcore.id] = made
        return made
    }

    /// The context of `lcore`'s loop, all from the plan.
    private func makeContext(_ lcore: DirectorPlan.Lcore) -> UnsafeMutablePointer<LoopContext> {
        let source = lcore.routeSource == lcore.id ? lcore : plan.lcore(lcore.routeSource)!
        let side = receivingSide(of: source)
        let running = allocate(UInt32.self, count: 1)
        running.initialize(to: 0)
        var context = LoopContext(
            paths: side.paths, pathCount: side.pathCount, planeSlot: planeSlot, qsbr: qsbr,
            qsbrThread: UInt32(lcore.packetBlock ?? 0),
            // A distributor does not run the packet path: it never writes the counter block it is given.
            counters: counters.worker(lcore.packetBlock ?? 0), engine: engine.block(lcore.engineBlock), running: running,
            toWorker: nil, fromWorker: nil, exceptionsFromWorker: nil, workerCount: 0,
            routesByPort: side.routesByPort, kernelPaths: side.kernelPaths, kernelPathCount: side.kernelPathCount,
            idleSleepMicroseconds: UInt32(config.idleSleepMicroseconds))
        switch lcore.role {
        case .runToCompletion:
            break
        case .distributor(let workers):
            let rings = workerRings[lcore.id]!
            context.toWorker = rings[.toWorker]
            context.fromWorker = rings[.fromWorker]
            context.exceptionsFromWorker = rings[.exceptions]
            context.workerCount = workers.count
        case .worker(let distributor, let slot):
            // A worker receives from its ring only; it routes by the port a packet came in
            // on, with its distributor's routes.
            let rings = workerRings[distributor]!
            context.paths = allocate(RxPath.self, count: 0)
            context.pathCount = 0
            context.kernelPaths = allocate(RxPath.self, count: 0)
            context.kernelPathCount = 0
            context.toWorker = rings[.toWorker]! + slot
            context.fromWorker = rings[.fromWorker]! + slot
            context.exceptionsFromWorker = rings[.exceptions]! + slot
            context.workerCount = 1
        }
        let pointer = allocate(LoopContext.self, count: 1)
        pointer.initialize(to: context)
        return pointer
    }

    private func launch(_ lcore: DirectorPlan.Lcore) throws(Failure) {
        let context = makeContext(lcore)
        let entry: @convention(c) (UnsafeMutableRawPointer?) -> Int32
        switch lcore.role {
        case .runToCompletion: entry = PacketLoops.runToCompletionEntry
        case .distributor: entry = PacketLoops.distributorEntry
        case .worker: entry = PacketLoops.workerEntry
        }
        let status = rte_eal_remote_launch(entry, UnsafeMutableRawPointer(context), UInt32(lcore.id))
        guard status == 0 else {
            throw Failure(description: "cannot launch lcore \(lcore.id) (\(lcore.role)): error \(status)")
        }
        launched.append((lcore, context))
        let paths = (0..<context.pointee.pathCount).map { i -> String in
            let p = context.pointee.paths[i]
            return "port \(p.rxPort)/queue \(p.rxQueue) -> port \(p.route.txPort)/queue \(p.route.txQueue)\(p.route.hasExceptionPath ? " (+ vglb_kni\(p.rxPort))" : "")"
        }
        log.info("lcore \(lcore.id): \(lcore.role)\(paths.isEmpty ? "" : ", " + paths.joined(separator: ", "))")
    }

    private func waitUntilRunning() throws(Failure) {
        for _ in 0..<1000 {
            if launched.allSatisfy({ glb_atomic_load_u32($0.context.pointee.running) == 1 }) { return }
            // A stop asked for while starting: the loops may end before they report running.
            if glb_stop_requested() != 0 { return }
            usleep(10_000)
        }
        throw Failure(description: "lcores did not start within 10 s")
    }

    // MARK: Reload

    /// The table file, read and made into a forwarding plane: at start-up and on each reload.
    static func loadTable(path: String, config: DirectorConfig, udpChecksumOffload: Bool = false) throws -> (table: CompiledForwardingTable, plane: ForwardingPlane) {
        let table = try BinaryTableFormat.read(path: path)
        return (table, try ForwardingPlane(table: table, config: config, udpChecksumOffload: udpChecksumOffload))
    }

    /// Says what the director now uses that drops traffic: no tables at all, rows between
    /// address families.
    static func warnAboutContent(_ table: CompiledForwardingTable) {
        if table.tables.isEmpty { log.warning("the forwarding table has no tables: every packet goes to the exception path or is dropped") }
        for problem in AddressFamilyMix.problems(table) { log.warning("table \(problem.table): \(problem.message)") }
    }

    /// Reads the table file again and switches every worker to it. A table that cannot be
    /// read or used is rejected; the running one stays.
    func reload() {
        log.info("reload requested: reading \(tablePath)")
        let table: CompiledForwardingTable
        let next: ForwardingPlane
        do {
            (table, next) = try Self.loadTable(path: tablePath, config: config, udpChecksumOffload: udpChecksumOffload)
        } catch {
            status.reloadFailed()
            log.error("reload rejected, still forwarding with table generation \(status.generation): \(error)")
            return
        }
        glb_atomic_store_ptr(planeSlot, UnsafeMutableRawPointer(mutating: next.view))
        // Every worker reads the slot once per burst and reports a quiescent state after it:
        // once all have, none can still be using the old plane.
        rte_rcu_qsbr_synchronize(qsbr, UInt32.max)
        plane = next
        status.reloaded(tables: table)
        log.info("table generation \(status.generation) loaded: \(DirectorStatus.summary(table))")
        Self.warnAboutContent(table)
    }

    // MARK: Shutdown

    /// Stops the loops, drains the rings, stops and closes every port, and releases EAL.
    func shutdown() {
        glb_request_stop()
        rte_eal_mp_wait_lcore()
        let scratch = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: burstSize)
        for ring in rings {
            while true {
                let n = glb_ring_dequeue(ring, scratch, UInt32(burstSize))
                if n == 0 { break }
                glb_mbuf_free_bulk(scratch, n)
            }
            rte_ring_free(ring)
        }
        scratch.deallocate()
        for port in nicPorts { PortSetup.stopAndClose(port.id) }
        for (_, tap) in tapPorts { PortSetup.stopAndClose(tap.id) }
        if let pool { rte_mempool_free(pool) }
        if let qsbr { rte_free(UnsafeMutableRawPointer(qsbr)) }
    }

    /// What readiness is decided on, now: every launched lcore's loop count (in launch order)
    /// and the loaded table's binds, with the ports without link as last asked.
    func readinessSample(now: UInt64, stopping: Bool, portsDown: [UInt16]) -> ReadinessTracker.Sample {
        ReadinessTracker.Sample(
            now: now, loops: launched.map { engine.block($0.lcore.engineBlock)[.loops] },
            portsDown: portsDown, binds: status.snapshot.binds, stopping: stopping)
    }

    /// The NIC ports that report no link (a port that cannot tell is not counted).
    func portsWithoutLink() -> [UInt16] {
        nicPorts.map(\.id).filter { glb_port_link_up($0) == 0 }
    }

    /// One line per lcore with its final counters, so a stop leaves a record of what moved.
    func logTotals() {
        for (lcore, _) in launched {
            let e = engine.block(lcore.engineBlock)
            var parts = EngineCounter.allCases.filter { e[$0] > 0 || $0 == .rxPackets || $0 == .txPackets }.map { "\($0.name) \(e[$0])" }
            if let block = lcore.packetBlock {
                let c = counters.worker(block)
                parts += Counter.allCases.filter { c[$0] > 0 }.map { "\($0.name) \(c[$0])" }
            }
            log.info("lcore \(lcore.id) totals: \(parts.joined(separator: ", "))")
        }
    }

    deinit {
        for p in allocations { p.deallocate() }
        planeSlot.deallocate()
    }
}
