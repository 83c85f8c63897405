import GLBCore

/// What each lcore of the director does, derived from `director.conf` and checked before any
/// port is touched.
public struct DirectorLayout: Equatable, Sendable {
    /// An lcore that receives on its flow paths, processes and transmits itself.
    public struct RunToCompletion: Equatable, Sendable {
        public var lcore: Int
        public var flowPaths: [FlowPath]
        public var exceptionPath: Bool
    }

    /// GLB's distributor: receives and transmits for its flow paths, hands packets to workers
    /// over rings.
    public struct Distributor: Equatable, Sendable {
        public var lcore: Int
        public var flowPaths: [FlowPath]
        public var exceptionPath: Bool
        public var workers: [Int]
    }

    public var runToCompletion: [RunToCompletion] = []
    public var distributors: [Distributor] = []

    /// Every lcore that runs the packet path (and so reads the forwarding table).
    public var processingLcores: [Int] { runToCompletion.map(\.lcore) + distributors.flatMap(\.workers) }

    /// Every lcore the director launches.
    public var allLcores: [Int] { (runToCompletion.map(\.lcore) + distributors.map(\.lcore) + distributors.flatMap(\.workers)).sorted() }

    /// The DPDK ports the flow paths use, ascending.
    public var ports: [UInt16] {
        let paths = runToCompletion.flatMap(\.flowPaths) + distributors.flatMap(\.flowPaths)
        return Set(paths.flatMap { [$0.rxPort, $0.txPort] }).sorted()
    }

    /// Rx ports whose unmatched packets go to the kernel (an rx lcore with `kni`).
    public var exceptionPorts: [UInt16] {
        let paths = runToCompletion.filter(\.exceptionPath).flatMap(\.flowPaths) + distributors.filter(\.exceptionPath).flatMap(\.flowPaths)
        return Set(paths.map(\.rxPort)).sorted()
    }

    /// Builds and checks the layout; problems name the lcore or flow path.
    public init(_ config: DirectorConfig, file: String) throws(ConfigErrors) {
        var issues: [ConfigIssue] = []
        func error(_ field: String, _ message: String) {
            issues.append(ConfigIssue(.error, file: file, field: field, message: message))
        }
        for (i, path) in config.flowPaths.enumerated() {
            if Int(path.rxQueue) >= config.numWorkerQueues {
                error("flow_paths[\(i)].rx_queue", "queue \(path.rxQueue) does not exist: num_worker_queues is \(config.numWorkerQueues)")
            }
            if Int(path.txQueue) >= config.numWorkerQueues {
                error("flow_paths[\(i)].tx_queue", "queue \(path.txQueue) does not exist: num_worker_queues is \(config.numWorkerQueues)")
            }
        }
        var rxOwner: [String: Int] = [:], txOwner: [String: Int] = [:]
        for lcore in config.lcores where lcore.rx {
            for index in lcore.flowPaths {
                let path = config.flowPaths[index]
                let rx = "port \(path.rxPort) queue \(path.rxQueue)", tx = "port \(path.txPort) queue \(path.txQueue)"
                if let other = rxOwner[rx], other != lcore.lcore {
                    error("lcores.lcore-\(lcore.lcore).flow_paths", "rx \(rx) is already read by lcore \(other); a queue has one reader")
                }
                if let other = txOwner[tx], other != lcore.lcore {
                    error("lcores.lcore-\(lcore.lcore).flow_paths", "tx \(tx) is already written by lcore \(other); a queue has one writer")
                }
                rxOwner[rx] = lcore.lcore
                txOwner[tx] = lcore.lcore
            }
            let paths = lcore.flowPaths.map { config.flowPaths[$0] }
            if lcore.dist {
                let workers = config.lcores.filter { $0.work && $0.workSource == lcore.lcore }.map(\.lcore)
                distributors.append(Distributor(lcore: lcore.lcore, flowPaths: paths, exceptionPath: lcore.kni, workers: workers))
            } else {
                runToCompletion.append(RunToCompletion(lcore: lcore.lcore, flowPaths: paths, exceptionPath: lcore.kni))
            }
        }
        guard issues.isEmpty else { throw ConfigErrors(issues) }
    }
}
