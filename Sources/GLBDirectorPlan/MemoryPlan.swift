/// How many mbufs the director needs, from what holds mbufs at once: the descriptor rings
/// of every queue, the distributor rings, per-lcore mempool caches and bursts in flight.
public struct MemoryPlan: Equatable, Sendable {
    public static let rxDescriptors = 1024
    public static let txDescriptors = 1024
    public static let tapDescriptors = 256
    public static let ringSize = 1024
    public static let cacheSize = 256
    /// Room DPDK keeps in front of a frame in each mbuf (RTE_PKTMBUF_HEADROOM): the
    /// encapsulation grows into it, so a frame may use only the data room after it.
    public static let headroom = 128
    /// Room for a 9,000-byte IP packet, VLAN-tagged, plus the headroom.
    public static let defaultDataRoom = 9216 + headroom
    /// AF_XDP's UMEM frames cannot exceed a page, so its pools hold standard frames.
    public static let pageSizedDataRoom = 2048 + headroom
    /// What each pool element costs besides its data room: the mbuf header (one
    /// `struct rte_mbuf`, two cache lines) and the mempool's object header.
    static let mbufHeaderBytes = 128
    static let objectHeaderBytes = 64

    /// Mbufs in the pool.
    public var mbufs: Int
    /// Bytes of each mbuf's data: headroom and frame.
    public var dataRoom: Int

    /// The largest frame a port receives or sends: the data room after the headroom.
    public var maxFrame: Int { dataRoom - Self.headroom }

    /// Approximate bytes of the pool (mbuf header + data room per element).
    public var bytes: Int { mbufs * (Self.mbufHeaderBytes + dataRoom + Self.objectHeaderBytes) }

    /// What holds mbufs at once, counted by `DirectorPlan`.
    struct Demand {
        var ports: Int
        var queuesPerPort: Int
        var exceptionPorts: Int
        /// Lcores with an exception path: each may own a queue on every TAP.
        var exceptionLcores: Int
        var rings: Int
        /// Lcores EAL runs, each with a mempool cache and bursts in flight.
        var lcores: Int
        /// An AF_XDP port limits the data room to a page.
        var afXDP: Bool
    }

    /// The pool for `demand`, with director.conf's `mbuf_pool_size` and `mbuf_data_size`
    /// taking precedence over the computed figures.
    init(_ demand: Demand, poolSize: Int?, dataSize: Int?) {
        var n = demand.ports * demand.queuesPerPort * (Self.rxDescriptors + Self.txDescriptors)
        n += demand.exceptionPorts * max(demand.exceptionLcores, 1) * 2 * Self.tapDescriptors
        n += demand.rings * Self.ringSize
        n += demand.lcores * (Self.cacheSize + 4 * DirectorPlan.burstSize)
        n += 1024
        // A mempool is most efficient with 2^n - 1 elements.
        var size = 1
        while size - 1 < n { size *= 2 }
        mbufs = poolSize ?? size - 1
        dataRoom = min(dataSize ?? Self.defaultDataRoom, demand.afXDP ? Self.pageSizedDataRoom : Int.max)
    }
}
