import GLBCore
import GLBDirectorPlan
import Testing

@Suite("director layout")
struct DirectorLayoutTests {
    func layoutErrors(_ config: DirectorConfig) -> [String] {
        do {
            _ = try DirectorLayout(config, file: "d")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("GLB's packaged director.conf: a distributor with kni and its worker")
    func glbFile() throws {
        let layout = try DirectorLayout(Configs.glb, file: "director.conf")
        #expect(layout.runToCompletion.isEmpty)
        #expect(layout.distributors.map(\.lcore) == [5] && layout.distributors[0].workers == [6])
        #expect(layout.distributors[0].exceptionPath && layout.distributors[0].flowPaths == Configs.glb.flowPaths)
        #expect(layout.processingLcores == [6] && layout.allLcores == [5, 6])
        #expect(layout.ports == [0] && layout.exceptionPorts == [0])
    }

    @Test("a run-to-completion lcore between two ports uses both")
    func twoPorts() throws {
        let layout = try DirectorLayout(Configs.config(flowPaths: [Configs.path(0, 0, 1, 0)], lcores: [Configs.receiver(1, paths: [0])]), file: "x")
        #expect(layout.ports == [0, 1] && layout.runToCompletion.map(\.lcore) == [1])
    }

    @Test("the layout refuses queues that do not exist and queues shared by lcores")
    func errors() {
        let missingQueue = layoutErrors(Configs.config(flowPaths: [Configs.path(0, 1, 0, 0)], lcores: [Configs.receiver(1, paths: [0])]))
        #expect(missingQueue == ["d: flow_paths[0].rx_queue: queue 1 does not exist: num_worker_queues is 1"])
        let shared = layoutErrors(Configs.config(flowPaths: [Configs.path(0, 0, 0, 0)], lcores: [Configs.receiver(1, paths: [0]), Configs.receiver(2, paths: [0])]))
        #expect(shared.count == 2 && shared[0].contains("rx port 0 queue 0 is already read by lcore 1"))
    }
}
