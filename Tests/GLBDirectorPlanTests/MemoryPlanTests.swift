import GLBCore
import GLBDirectorPlan
import Testing

@Suite("memory plan")
struct MemoryPlanTests {
    func memory(_ config: DirectorConfig, lcoreCount: Int, drivers: [String] = ["net_af_packet"]) throws -> MemoryPlan {
        DirectorPlan(config: config, layout: try DirectorLayout(config, file: "director.conf"),
                     eal: DirectorPlan.EAL(lcoreCount: lcoreCount, drivers: drivers)).memory
    }

    static let oneLcore = Configs.config(flowPaths: [Configs.path(0, 0, 0, 0)], lcores: [Configs.receiver(1, paths: [0])])

    @Test("one port, one queue, two lcores: descriptors, caches and bursts, rounded up to 2^n - 1")
    func runToCompletion() throws {
        let m = try memory(Self.oneLcore, lcoreCount: 2)
        // 1 port x 1 queue x (1024 + 1024) + 2 lcores x (256 + 4 x 32) + 1024 = 3840.
        #expect(m.mbufs == 4095)
        #expect(m.dataRoom == 9216 + 128 && m.maxFrame == 9216)
        #expect(m.bytes == 4095 * (128 + 9344 + 64))
    }

    @Test("a distributor's rings and an exception TAP hold mbufs too")
    func distributorAndTap() throws {
        let m = try memory(Configs.glb, lcoreCount: 3)
        // 2048 descriptors + 1 TAP x 1 queue x 2 x 256 + 3 rings x 1024 + 3 x 384 + 1024 = 7808.
        #expect(m.mbufs == 8191)
    }

    @Test("several ports and queues multiply the descriptors")
    func portsAndQueues() throws {
        let config = Configs.config(queues: 4, flowPaths: [Configs.path(0, 0, 1, 0), Configs.path(1, 1, 0, 1)], lcores: [Configs.receiver(1, paths: [0, 1])])
        // 2 ports x 4 queues x 2048 + 5 x 384 + 1024 = 19328.
        #expect(try memory(config, lcoreCount: 5).mbufs == 32767)
    }

    @Test("mbuf_pool_size and mbuf_data_size take precedence; AF_XDP limits the data room to a page")
    func overrides() throws {
        var config = Self.oneLcore
        config.mbufPoolSize = 1000
        config.mbufDataSize = 4000
        let m = try memory(config, lcoreCount: 2)
        #expect(m.mbufs == 1000 && m.dataRoom == 4000 && m.maxFrame == 4000 - MemoryPlan.headroom)
        let xdp = try memory(config, lcoreCount: 2, drivers: ["net_af_xdp"])
        #expect(xdp.dataRoom == 2048 + 128 && xdp.maxFrame == 2048)
        var smallRoom = Self.oneLcore
        smallRoom.mbufDataSize = 1200
        #expect(try memory(smallRoom, lcoreCount: 2, drivers: ["net_af_xdp"]).dataRoom == 1200)
        #expect(DirectorPlan.EAL(lcoreCount: 1, drivers: ["net_af_xdp"]).hasAFXDP && !DirectorPlan.EAL(lcoreCount: 1, drivers: ["net_ixgbe"]).hasAFXDP)
    }
}
