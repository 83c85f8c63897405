import GLBCore
import GLBDirectorPlan

/// Mistakes in director.conf or the EAL options that can be found before EAL starts: EAL
/// creates hugepage files and its runtime folder at once and, when the director then finds a
/// problem, some stay behind. The same mistakes are checked again after EAL starts (with
/// EAL's own answers) for the forms of options read only by EAL.
enum StartChecks {
    /// Every problem found; empty when the director may start EAL.
    /// `plan` is the plan for what EAL's options promise (`expectedResources`).
    static func problems(plan: DirectorPlan, eal: EALOptions, hugepages: HugepageCheck.Memory) -> [String] {
        var found: [String] = eal.renamed.map { "EAL option: \($0)" }
        if let problem = eal.filePrefixProblem { found.append(problem) }
        if let enabled = eal.lcores {
            for lcore in plan.layout.allLcores {
                if lcore == eal.mainLcore {
                    found.append(DirectorRuntime.mainLcoreMessage(lcore))
                } else if !enabled.contains(lcore) {
                    found.append(DirectorRuntime.disabledLcoreMessage(lcore, enabled: enabled.map(String.init).joined(separator: ",")))
                }
            }
        }
        if let count = eal.portCount {
            for port in plan.ports where Int(port) >= count {
                found.append(DirectorRuntime.missingPortMessage(port, found: count))
            }
        }
        if let available = hugepages.availableBytes(eal) {
            let memory = plan.memory
            if memory.bytes > available {
                found.append("the mbuf pool needs about \(memory.bytes >> 20) MB (\(memory.mbufs) mbufs of \(memory.dataRoom) bytes) but EAL may use only \(available >> 20) MB: \(eal.noHuge ? "raise -m" : HugepageCheck.advice), or lower mbuf_pool_size")
            }
        }
        return found
    }

    /// What EAL will provide, as far as its options tell: the lcores they enable (else the
    /// layout's and the main one) and the drivers of the devices they name.
    static func expectedResources(_ eal: EALOptions, layout: DirectorLayout) -> DirectorPlan.EAL {
        DirectorPlan.EAL(lcoreCount: eal.lcores?.count ?? layout.allLcores.count + 1,
                         drivers: eal.virtualDrivers + Array(repeating: "pci", count: eal.allowedDevices))
    }
}
