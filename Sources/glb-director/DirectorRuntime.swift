import CDPDKShim
import GLBCore
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
    let layout: DirectorLayout
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
    let counters: CounterStorage
    let engine: EngineCounterStorage
    /// Launched lcores in launch order, with their context.
    private(set) var launched: [(lcore: Int, role: String, context: UnsafeMutablePointer<LoopContext>)] = []
    private var rings: [OpaquePointer] = []
    private var allocations: [UnsafeMutableRawPointer] = []

    init(config: DirectorConfig, layout: DirectorLayout, tablePath: String, plane: ForwardingPlane, tables: CompiledForwardingTable,
         udpChecksumOffload: Bool) {
        self.config = config
        self.udpChecksumOffload = udpChecksumOffload
        self.layout = layout
        self.tablePath = tablePath
        self.plane = plane
        self.status = DirectorStatus(tables: tables)
        planeSlot = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
        planeSlot.initialize(to: UnsafeMutableRawPointer(mutating: plane.view))
        counters = CounterStorage(workers: layout.processingLcores.count)
        engine = EngineCounterStorage(lcores: layout.allLcores.count)
    }

    // MARK: Start-up

    /// Checks the lcores, creates the mbuf pool, starts ports and TAPs and launches every loop.
    func start() throws(Failure) {
        try checkLcores()
        let drivers = layout.ports.map(PortSetup.driverName)
        let plan = MemoryPlan(config: config, layout: layout, lcoreCount: Int(rte_lcore_count()), drivers: drivers)
        if drivers.contains(where: { $0.contains("af_xdp") }) {
            log.info("AF_XDP port(s): mbufs hold frames up to \(plan.dataRoom - 128) bytes (jumbo frames need net_af_packet or a NIC driver)")
        }
        pool = rte_pktmbuf_pool_create("glb_mbufs", UInt32(plan.mbufs), UInt32(MemoryPlan.cacheSize), 0, UInt16(plan.dataRoom), Int32(rte_socket_id()))
        guard let pool else {
            throw Failure(description: "cannot create the mbuf pool (\(plan.mbufs) mbufs of \(plan.dataRoom) bytes, about \(plan.bytes >> 20) MB): \(String(cString: rte_strerror(glb_rte_errno()))); \(HugepageCheck.advice), or lower mbuf_pool_size")
        }
        log.info("mbuf pool: \(plan.mbufs) mbufs of \(plan.dataRoom) bytes (\(config.mbufPoolSize == nil ? "sized for \(layout.ports.count) port(s) x \(config.numWorkerQueues) queue(s)" : "mbuf_pool_size"), about \(plan.bytes >> 20) MB)")

        for port in layout.ports {
            do {
                nicPorts.append(try PortSetup.start(port: port, queues: config.numWorkerQueues,
                                                    descriptors: (MemoryPlan.rxDescriptors, MemoryPlan.txDescriptors),
                                                    pool: pool, rxDropEnabled: config.rxDropEnabled, maxFrame: plan.dataRoom - 128,
                                                    udpChecksumOffload: udpChecksumOffload))
            } catch {
                throw Failure(description: error.description)
            }
        }
        for port in layout.exceptionPorts {
            let users = exceptionUsers(of: port)
            do {
                tapPorts[port] = try PortSetup.createTap(forPort: port, mac: mac(of: port), queues: users.count, pool: pool,
                                                         maxFrame: plan.dataRoom - 128)
            } catch {
                throw Failure(description: error.description)
            }
        }

        qsbr = glb_qsbr_create(UInt32(max(layout.processingLcores.count, 1)))
        guard qsbr != nil else { throw Failure(description: "cannot allocate the RCU state for \(layout.processingLcores.count) workers") }
        try launchLoops()
        try waitUntilRunning()
    }

    private func checkLcores() throws(Failure) {
        let main = Int(rte_get_main_lcore())
        for lcore in layout.allLcores {
            if lcore == main {
                throw Failure(description: Self.mainLcoreMessage(lcore))
            }
            if lcore >= Int(RTE_MAX_LCORE) || rte_lcore_is_enabled(UInt32(lcore)) == 0 {
                throw Failure(description: Self.disabledLcoreMessage(lcore, enabled: enabledLcores()))
            }
        }
        for port in layout.ports where rte_eth_dev_is_valid_port(port) == 0 {
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

    /// The lcores with an exception path that receive on `port`, in a fixed order; each gets
    /// its own TAP queue.
    private func exceptionUsers(of port: UInt16) -> [Int] {
        let rtc = layout.runToCompletion.filter { $0.exceptionPath && $0.flowPaths.contains { $0.rxPort == port } }.map(\.lcore)
        let dist = layout.distributors.filter { $0.exceptionPath && $0.flowPaths.contains { $0.rxPort == port } }.map(\.lcore)
        return (rtc + dist).sorted()
    }

    private func mac(of port: UInt16) -> MACAddress {
        nicPorts.first { $0.id == port }?.mac ?? PortSetup.macAddress(port)
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        allocations.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// The route of packets an lcore receives on `path`.
    private func route(for path: FlowPath, lcore: Int, exceptionPath: Bool) -> PortRoute {
        var route = PortRoute(txPort: path.txPort, txQueue: path.txQueue, mac: mac(of: path.txPort).packetWords,
                              rxMAC: mac(of: path.rxPort).packetWords)
        if exceptionPath, let tap = tapPorts[path.rxPort], let queue = exceptionUsers(of: path.rxPort).firstIndex(of: lcore) {
            route.tapPort = tap.id
            route.tapQueue = UInt16(queue)
        }
        return route
    }

    private func makeContext(lcore: Int, flowPaths: [FlowPath], exceptionPath: Bool, processingIndex: Int?) -> UnsafeMutablePointer<LoopContext> {
        let paths = allocate(RxPath.self, count: flowPaths.count)
        for (i, path) in flowPaths.enumerated() {
            paths[i] = RxPath(rxPort: path.rxPort, rxQueue: path.rxQueue, route: route(for: path, lcore: lcore, exceptionPath: exceptionPath))
        }
        let routes = allocate(PortRoute.self, count: Int(RTE_MAX_ETHPORTS))
        routes.initialize(repeating: PortRoute(), count: Int(RTE_MAX_ETHPORTS))
        for i in 0..<flowPaths.count { routes[Int(flowPaths[i].rxPort)] = paths[i].route }
        // Kernel to wire: each TAP queue of this lcore goes out of its NIC port on a tx
        // queue this lcore owns.
        var kernel: [RxPath] = []
        if exceptionPath {
            for (port, tap) in tapPorts.sorted(by: { $0.key < $1.key }) {
                guard let queue = exceptionUsers(of: port).firstIndex(of: lcore) else { continue }
                guard let out = flowPaths.first(where: { $0.txPort == port }) else {
                    log.warning("lcore \(lcore): no flow path transmits on port \(port), so packets the kernel sends on vglb_kni\(port) are not forwarded by this lcore")
                    continue
                }
                kernel.append(RxPath(rxPort: tap.id, rxQueue: UInt16(queue), route: PortRoute(txPort: port, txQueue: out.txQueue)))
            }
        }
        let kernelPaths = allocate(RxPath.self, count: kernel.count)
        for (i, k) in kernel.enumerated() { kernelPaths[i] = k }
        let running = allocate(UInt32.self, count: 1)
        running.initialize(to: 0)
        let context = allocate(LoopContext.self, count: 1)
        context.initialize(to: LoopContext(
            paths: paths, pathCount: flowPaths.count, planeSlot: planeSlot, qsbr: qsbr,
            qsbrThread: UInt32(processingIndex ?? 0),
            // A distributor does not run the packet path: it never writes the counter block it is given.
            // The engine block is the launch order's (see launch()), as its readers count.
            counters: counters.worker(processingIndex ?? 0), engine: engine.block(0), running: running,
            toWorker: nil, fromWorker: nil, exceptionsFromWorker: nil, workerCount: 0,
            routesByPort: routes, kernelPaths: kernelPaths, kernelPathCount: kernel.count,
            idleSleepMicroseconds: UInt32(config.idleSleepMicroseconds)))
        return context
    }

    private func makeRing(_ name: String) throws(Failure) -> OpaquePointer {
        guard let ring = rte_ring_create(name, UInt32(MemoryPlan.ringSize), Int32(rte_socket_id()), UInt32(RING_F_SP_ENQ | RING_F_SC_DEQ)) else {
            throw Failure(description: "cannot create ring \(name): \(String(cString: rte_strerror(glb_rte_errno())))")
        }
        rings.append(ring)
        return ring
    }

    private func launchLoops() throws(Failure) {
        var processing = 0
        for rtc in layout.runToCompletion {
            let context = makeContext(lcore: rtc.lcore, flowPaths: rtc.flowPaths, exceptionPath: rtc.exceptionPath, processingIndex: processing)
            processing += 1
            try launch(PacketLoops.runToCompletionEntry, context, lcore: rtc.lcore, role: "run-to-completion")
        }
        for dist in layout.distributors {
            let context = makeContext(lcore: dist.lcore, flowPaths: dist.flowPaths, exceptionPath: dist.exceptionPath, processingIndex: nil)
            let toWorker = allocate(OpaquePointer?.self, count: dist.workers.count)
            let fromWorker = allocate(OpaquePointer?.self, count: dist.workers.count)
            let exceptions = allocate(OpaquePointer?.self, count: dist.workers.count)
            for (w, worker) in dist.workers.enumerated() {
                toWorker[w] = try makeRing("glb_to_\(worker)")
                fromWorker[w] = try makeRing("glb_from_\(worker)")
                exceptions[w] = try makeRing("glb_exc_\(worker)")
                let workerContext = makeContext(lcore: worker, flowPaths: [], exceptionPath: false, processingIndex: processing)
                processing += 1
                workerContext.pointee.toWorker = toWorker + w
                workerContext.pointee.fromWorker = fromWorker + w
                workerContext.pointee.exceptionsFromWorker = exceptions + w
                workerContext.pointee.workerCount = 1
                // Workers route by the port a packet came in on: the distributor's routes.
                workerContext.pointee.routesByPort = context.pointee.routesByPort
                try launch(PacketLoops.workerEntry, workerContext, lcore: worker, role: "worker of lcore \(dist.lcore)")
            }
            context.pointee.toWorker = toWorker
            context.pointee.fromWorker = fromWorker
            context.pointee.exceptionsFromWorker = exceptions
            context.pointee.workerCount = dist.workers.count
            try launch(PacketLoops.distributorEntry, context, lcore: dist.lcore, role: "distributor")
        }
    }

    private func launch(_ entry: @convention(c) (UnsafeMutableRawPointer?) -> Int32, _ context: UnsafeMutablePointer<LoopContext>, lcore: Int, role: String) throws(Failure) {
        // Engine counters are read back by position in `launched`: a distributor is launched
        // after its workers, so its block is only known here, not when its context is made.
        context.pointee.engine = engine.block(launched.count)
        let status = rte_eal_remote_launch(entry, UnsafeMutableRawPointer(context), UInt32(lcore))
        guard status == 0 else {
            throw Failure(description: "cannot launch lcore \(lcore) (\(role)): error \(status)")
        }
        launched.append((lcore, role, context))
        let paths = (0..<context.pointee.pathCount).map { i -> String in
            let p = context.pointee.paths[i]
            return "port \(p.rxPort)/queue \(p.rxQueue) -> port \(p.route.txPort)/queue \(p.route.txQueue)\(p.route.hasExceptionPath ? " (+ vglb_kni\(p.rxPort))" : "")"
        }
        log.info("lcore \(lcore): \(role)\(paths.isEmpty ? "" : ", " + paths.joined(separator: ", "))")
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
            now: now, loops: launched.indices.map { engine.block($0)[.loops] },
            portsDown: portsDown, binds: status.snapshot.binds, stopping: stopping)
    }

    /// The NIC ports that report no link (a port that cannot tell is not counted).
    func portsWithoutLink() -> [UInt16] {
        nicPorts.map(\.id).filter { glb_port_link_up($0) == 0 }
    }

    /// One line per lcore with its final counters, so a stop leaves a record of what moved.
    func logTotals() {
        let processing = layout.processingLcores
        for (i, entry) in launched.enumerated() {
            let e = engine.block(i)
            var parts = EngineCounter.allCases.filter { e[$0] > 0 || $0 == .rxPackets || $0 == .txPackets }.map { "\($0.name) \(e[$0])" }
            if let w = processing.firstIndex(of: entry.lcore) {
                let c = counters.worker(w)
                parts += Counter.allCases.filter { c[$0] > 0 }.map { "\($0.name) \(c[$0])" }
            }
            log.info("lcore \(entry.lcore) totals: \(parts.joined(separator: ", "))")
        }
    }

    deinit {
        for p in allocations { p.deallocate() }
        planeSlot.deallocate()
    }
}
