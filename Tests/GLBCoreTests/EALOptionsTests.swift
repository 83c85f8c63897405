import GLBCore
import Testing

@Suite("EAL options read before EAL starts")
struct EALOptionsTests {
    @Test("lcores in every form EAL takes, and the main lcore", arguments: [
        (["-l", "0-2"], [0, 1, 2], 0),
        (["-l2,4-5"], [2, 4, 5], 2),
        (["--lcores=0@0,1@1,2@1"], [0, 1, 2], 0),
        (["--lcores", "3,1"], [1, 3], 1),
        (["-c", "0x6"], [1, 2], 1),
        (["-l", "0-3", "--main-lcore", "2"], [0, 1, 2, 3], 2),
    ] as [([String], [Int], Int)])
    func lcores(arguments: [String], lcores: [Int], main: Int) {
        let o = EALOptions(arguments)
        #expect(o.lcores == lcores)
        #expect(o.mainLcore == main)
    }

    @Test("lcore groups and nonsense are left to EAL")
    func unknownLcores() {
        #expect(EALOptions(["--lcores", "(0-2)@0"]).lcores == nil)
        #expect(EALOptions(["-l", "x"]).lcores == nil)
        #expect(EALOptions(["-l", "3-1"]).lcores == nil)
        #expect(EALOptions([]).lcores == nil)
        #expect(EALOptions([]).mainLcore == nil)
    }

    @Test("ports: virtual devices and allowed PCI devices, unknown when the PCI bus is scanned")
    func ports() {
        let o = EALOptions(["--no-pci", "--vdev=net_af_packet0,iface=eth1", "--vdev", "net_null0"])
        #expect(o.virtualDrivers == ["net_af_packet0", "net_null0"])
        #expect(o.portCount == 2)
        #expect(EALOptions(["-a", "0000:03:00.0", "--vdev=net_null0"]).portCount == 2)
        #expect(EALOptions(["--vdev=net_null0"]).portCount == nil)
    }

    @Test("memory and file options")
    func memory() {
        let o = EALOptions(["--no-huge", "-m", "256", "--file-prefix=glb", "--in-memory"])
        #expect(o.noHuge && o.inMemory && o.memoryMB == 256 && o.filePrefix == "glb")
        #expect(EALOptions(["-m512"]).memoryMB == 512)
        #expect(EALOptions([]).filePrefix == "rte")
    }

    @Test("options DPDK 22.11 renamed are named with their replacement")
    func renamed() {
        let o = EALOptions(["--master-lcore", "0", "-w", "0000:03:00.0"])
        #expect(o.renamed == ["--master-lcore was renamed --main-lcore in DPDK 20.11", "-w was renamed -a (--allow) in DPDK 20.11"])
        #expect(EALOptions(["-l", "0-1", "-a", "0000:03:00.0"]).renamed.isEmpty)
    }

    @Test("a file prefix whose socket path EAL cannot create is found, to the byte")
    func filePrefix() {
        // /var/run/dpdk/<prefix>/dpdk_telemetry.v2 must fit in 107 bytes: 75 bytes of prefix.
        #expect(EALOptions(["--file-prefix", String(repeating: "p", count: 75)]).filePrefixProblem == nil)
        #expect(EALOptions(["--file-prefix", String(repeating: "p", count: 76)]).filePrefixProblem
                == "--file-prefix \"\(String(repeating: "p", count: 76))\" is 76 bytes; EAL's socket paths allow at most 75")
        #expect(EALOptions(["--file-prefix="]).filePrefixProblem == "--file-prefix is empty")
        #expect(EALOptions(["--file-prefix", "a/b"]).filePrefixProblem != nil)
    }
}
