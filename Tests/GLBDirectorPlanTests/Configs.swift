import GLBCore

/// director.conf values built in code: the plan depends on the decoded configuration only.
enum Configs {
    static func config(queues: Int = 1, flowPaths: [FlowPath], lcores: [LcoreConfig]) -> DirectorConfig {
        var c = DirectorConfig(outboundGatewayMAC: MACAddress("00:11:22:33:44:55")!, outboundSourceIP: IPAddress("10.0.0.1"))
        c.numWorkerQueues = queues
        c.flowPaths = flowPaths
        c.lcores = lcores
        return c
    }

    static func path(_ rxPort: UInt16, _ rxQueue: UInt16, _ txPort: UInt16, _ txQueue: UInt16) -> FlowPath {
        FlowPath(rxPort: rxPort, rxQueue: rxQueue, txPort: txPort, txQueue: txQueue)
    }

    /// An rx/tx lcore on the flow paths at `paths`; a distributor when `dist`.
    static func receiver(_ lcore: Int, paths: [Int], kni: Bool = false, dist: Bool = false, workers: Int = 0) -> LcoreConfig {
        var l = LcoreConfig(lcore: lcore)
        l.rx = true
        l.tx = true
        l.flowPaths = paths
        l.kni = kni
        l.dist = dist
        l.numDistWorkers = workers
        return l
    }

    static func worker(_ lcore: Int, of source: Int) -> LcoreConfig {
        var l = LcoreConfig(lcore: lcore)
        l.work = true
        l.workSource = source
        return l
    }

    /// GLB's packaged director.conf: one distributor with `kni` and one worker.
    static let glb = config(flowPaths: [path(0, 0, 0, 0)], lcores: [receiver(5, paths: [0], kni: true, dist: true, workers: 1), worker(6, of: 5)])
}
