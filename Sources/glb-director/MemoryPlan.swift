import GLBCore

/// How many mbufs the director needs, from what holds mbufs at once: the descriptor rings
/// of every queue, the distributor rings, per-lcore mempool caches and bursts in flight.
struct MemoryPlan {
    static let rxDescriptors = 1024
    static let txDescriptors = 1024
    static let tapDescriptors = 256
    static let ringSize = 1024
    static let cacheSize = 256
    /// Room for a 9,000-byte IP packet, VLAN-tagged, plus the 128-byte headroom the
    /// encapsulation grows into.
    static let defaultDataRoom = 9216 + 128
    /// AF_XDP's UMEM frames cannot exceed a page, so its pools hold standard frames.
    static let pageSizedDataRoom = 2048 + 128

    var mbufs: Int
    var dataRoom: Int

    init(config: DirectorConfig, layout: DirectorLayout, lcoreCount: Int, drivers: [String]) {
        let queues = config.numWorkerQueues
        var n = layout.ports.count * queues * (Self.rxDescriptors + Self.txDescriptors)
        let tapQueues = layout.runToCompletion.filter(\.exceptionPath).count + layout.distributors.filter(\.exceptionPath).count
        n += layout.exceptionPorts.count * max(tapQueues, 1) * 2 * Self.tapDescriptors
        n += layout.distributors.reduce(0) { $0 + $1.workers.count * 3 * Self.ringSize }
        n += lcoreCount * (Self.cacheSize + 4 * burstSize)
        n += 1024
        var size = 1
        while size - 1 < n { size *= 2 }
        mbufs = config.mbufPoolSize ?? size - 1
        let xdp = drivers.contains { $0.contains("af_xdp") }
        dataRoom = min(config.mbufDataSize ?? Self.defaultDataRoom, xdp ? Self.pageSizedDataRoom : Int.max)
    }

    /// Approximate bytes of the pool (mbuf header + data room per element).
    var bytes: Int { mbufs * (128 + dataRoom + 64) }
}
