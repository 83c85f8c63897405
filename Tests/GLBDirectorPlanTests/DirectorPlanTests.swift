import GLBCore
import GLBDirectorPlan
import Testing

@Suite("director plan")
struct DirectorPlanTests {
    typealias Plan = DirectorPlan

    func plan(_ config: DirectorConfig, lcoreCount: Int = 8, drivers: [String] = ["net_af_packet"]) throws -> Plan {
        Plan(config: config, layout: try DirectorLayout(config, file: "director.conf"), eal: Plan.EAL(lcoreCount: lcoreCount, drivers: drivers))
    }

    @Test("run to completion: one lcore polls its flow path and writes engine and packet block 0")
    func runToCompletion() throws {
        let p = try plan(Configs.config(flowPaths: [Configs.path(0, 0, 0, 0)], lcores: [Configs.receiver(1, paths: [0])]))
        #expect(p.lcores.count == 1)
        let l = p.lcores[0]
        #expect(l.id == 1 && l.role == .runToCompletion && l.role.description == "run-to-completion")
        #expect(l.rxPaths == [Plan.RxPath(flowPath: Configs.path(0, 0, 0, 0), exceptionQueue: nil)])
        #expect(l.rxQueues == [Plan.Queue(port: 0, queue: 0)] && l.txQueues == [Plan.Queue(port: 0, queue: 0)])
        #expect(l.kernelPaths.isEmpty && l.kernelPortsWithoutTx.isEmpty)
        #expect(l.engineBlock == 0 && l.packetBlock == 0 && l.routeSource == 1)
        #expect(p.rings.isEmpty && p.taps.isEmpty && p.ports == [0] && p.queuesPerPort == 1)
        #expect(p.processingLcores.map(\.id) == [1])
    }

    @Test("a distributor is launched after its workers, which have its rings by slot and no queues of their own")
    func distributorWithWorkers() throws {
        let config = Configs.config(flowPaths: [Configs.path(0, 0, 0, 0)], lcores: [
            Configs.receiver(5, paths: [0], dist: true, workers: 2), Configs.worker(6, of: 5), Configs.worker(7, of: 5),
        ])
        let p = try plan(config)
        #expect(p.lcores.map(\.id) == [6, 7, 5])
        #expect(p.lcores.map(\.role) == [.worker(distributor: 5, slot: 0), .worker(distributor: 5, slot: 1), .distributor(workers: [6, 7])])
        #expect(p.lcores.map(\.role.description) == ["worker of lcore 5", "worker of lcore 5", "distributor"])
        #expect(p.lcores.map(\.routeSource) == [5, 5, 5])
        #expect(p.lcores[0].rxPaths.isEmpty && p.lcores[0].txQueues.isEmpty && p.lcores[2].rxPaths.count == 1)
        #expect(p.rings.map(\.name) == ["glb_to_6", "glb_from_6", "glb_exc_6", "glb_to_7", "glb_from_7", "glb_exc_7"])
        #expect(p.rings.map(\.slot) == [0, 0, 0, 1, 1, 1] && p.rings.allSatisfy { $0.distributor == 5 })
        #expect(p.rings.map(\.kind) == [.toWorker, .fromWorker, .exceptions, .toWorker, .fromWorker, .exceptions])
        // The distributor does not run the packet path: no packet block, no RCU thread.
        #expect(p.lcores.map(\.engineBlock) == [0, 1, 2] && p.lcores.map(\.packetBlock) == [0, 1, nil])
        #expect(p.processingLcores.map(\.id) == [6, 7])
    }

    @Test("kni: each TAP has a queue per lcore with kni that receives on its port, in lcore order")
    func exceptionPath() throws {
        let config = Configs.config(queues: 3, flowPaths: [Configs.path(0, 0, 0, 0), Configs.path(0, 1, 0, 1), Configs.path(0, 2, 1, 2)], lcores: [
            Configs.receiver(3, paths: [0], kni: true), Configs.receiver(2, paths: [1], kni: true), Configs.receiver(4, paths: [2]),
        ])
        let p = try plan(config)
        #expect(p.taps == [Plan.Tap(port: 0, lcores: [2, 3])] && p.taps[0].name == "vglb_kni0")
        let byID = Dictionary(uniqueKeysWithValues: p.lcores.map { ($0.id, $0) })
        #expect(byID[2]!.rxPaths[0].exceptionQueue == 0 && byID[3]!.rxPaths[0].exceptionQueue == 1)
        #expect(byID[4]!.rxPaths[0].exceptionQueue == nil)
        // What the kernel sends on a TAP queue leaves by a tx queue its lcore already writes.
        #expect(byID[2]!.kernelPaths == [Plan.KernelPath(port: 0, tapQueue: 0, txQueue: 1)])
        #expect(byID[3]!.kernelPaths == [Plan.KernelPath(port: 0, tapQueue: 1, txQueue: 0)])
        #expect(byID[4]!.kernelPaths.isEmpty)
    }

    @Test("kni on an lcore that does not transmit on its rx port: the TAP queue exists, its packets are not forwarded")
    func exceptionPathWithoutTx() throws {
        let p = try plan(Configs.config(flowPaths: [Configs.path(0, 0, 1, 0)], lcores: [Configs.receiver(1, paths: [0], kni: true)]))
        #expect(p.taps == [Plan.Tap(port: 0, lcores: [1])])
        #expect(p.lcores[0].rxPaths[0].exceptionQueue == 0)
        #expect(p.lcores[0].kernelPaths.isEmpty && p.lcores[0].kernelPortsWithoutTx == [0])
    }

    @Test("a distributor's kni is its own: its workers have no TAP queues")
    func distributorExceptionPath() throws {
        let p = try plan(Configs.glb)
        #expect(p.lcores.map(\.id) == [6, 5] && p.taps == [Plan.Tap(port: 0, lcores: [5])])
        #expect(p.lcores[1].rxPaths[0].exceptionQueue == 0 && p.lcores[1].kernelPaths == [Plan.KernelPath(port: 0, tapQueue: 0, txQueue: 0)])
        #expect(p.lcores[0].kernelPaths.isEmpty && p.lcores[0].kernelPortsWithoutTx.isEmpty)
    }

    @Test("several ports and queues: each lcore's rx paths in its flow paths' order, its tx queues once each")
    func portsAndQueues() throws {
        let config = Configs.config(queues: 2, flowPaths: [
            Configs.path(0, 0, 1, 0), Configs.path(1, 0, 0, 0), Configs.path(0, 1, 1, 1), Configs.path(1, 1, 0, 1), Configs.path(2, 0, 0, 0),
        ], lcores: [Configs.receiver(1, paths: [0, 1, 4]), Configs.receiver(2, paths: [2, 3])])
        let p = try plan(config)
        #expect(p.ports == [0, 1, 2] && p.queuesPerPort == 2)
        #expect(p.lcores.map(\.id) == [1, 2])
        #expect(p.lcores[0].rxQueues == [Plan.Queue(port: 0, queue: 0), Plan.Queue(port: 1, queue: 0), Plan.Queue(port: 2, queue: 0)])
        #expect(p.lcores[0].txQueues == [Plan.Queue(port: 1, queue: 0), Plan.Queue(port: 0, queue: 0)])
        #expect(p.lcores[1].rxQueues == [Plan.Queue(port: 0, queue: 1), Plan.Queue(port: 1, queue: 1)])
        #expect(p.lcores[1].txQueues == [Plan.Queue(port: 1, queue: 1), Plan.Queue(port: 0, queue: 1)])
        #expect(p.lcores[1].txQueues.map(\.description) == ["port 1/queue 1", "port 0/queue 1"])
        #expect(p.lcores.map(\.packetBlock) == [0, 1])
    }

    /// The metrics label engine block `engineBlock` with the lcore at that place in launch
    /// order, and packet block `packetBlock` with the lcore at that place among the
    /// processing lcores: both must be one-to-one, and the packet blocks must follow the
    /// layout's processing order (run-to-completion lcores, then each distributor's workers).
    @Test("counter blocks: one engine block per lcore in launch order, one packet block per processing lcore")
    func counterBlocks() throws {
        let config = Configs.config(queues: 2, flowPaths: [Configs.path(0, 0, 0, 0), Configs.path(0, 1, 0, 1), Configs.path(1, 0, 1, 0)], lcores: [
            Configs.receiver(9, paths: [2], dist: true, workers: 1), Configs.worker(10, of: 9),
            Configs.receiver(3, paths: [1], dist: true, workers: 2), Configs.worker(4, of: 3), Configs.worker(8, of: 3),
            Configs.receiver(1, paths: [0]),
        ])
        let p = try plan(config)
        #expect(p.lcores.map(\.id) == [1, 10, 9, 4, 8, 3])
        #expect(p.lcores.map(\.engineBlock) == Array(0..<6))
        #expect(p.lcores.map(\.packetBlock) == [0, 1, nil, 2, 3, nil])
        #expect(p.processingLcores.map(\.id) == p.layout.processingLcores && p.layout.processingLcores == [1, 10, 4, 8])
        #expect(p.processingLcores.map(\.packetBlock) == [0, 1, 2, 3])
        #expect(Set(p.lcores.map(\.id)) == Set(p.layout.allLcores))
        #expect(p.lcore(8)?.role == .worker(distributor: 3, slot: 1) && p.lcore(2) == nil)
    }
}
