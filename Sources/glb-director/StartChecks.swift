import GLBCore

/// Mistakes in director.conf or the EAL options that can be found before EAL starts: EAL
/// creates hugepage files and its runtime folder at once and, when the director then finds a
/// problem, some stay behind. The same mistakes are checked again after EAL starts (with
/// EAL's own answers) for the forms of options read only by EAL.
enum StartChecks {
    /// Every problem found; empty when the director may start EAL.
    static func problems(config: DirectorConfig, layout: DirectorLayout, eal: EALOptions, hugepages: HugepageCheck.Memory) -> [String] {
        var found: [String] = eal.renamed.map { "EAL option: \($0)" }
        if let problem = eal.filePrefixProblem { found.append(problem) }
        if let enabled = eal.lcores {
            for lcore in layout.allLcores {
                if lcore == eal.mainLcore {
                    found.append(DirectorRuntime.mainLcoreMessage(lcore))
                } else if !enabled.contains(lcore) {
                    found.append(DirectorRuntime.disabledLcoreMessage(lcore, enabled: enabled.map(String.init).joined(separator: ",")))
                }
            }
        }
        if let count = eal.portCount {
            for port in layout.ports where Int(port) >= count {
                found.append(DirectorRuntime.missingPortMessage(port, found: count))
            }
        }
        if let available = hugepages.availableBytes(eal) {
            let drivers = eal.virtualDrivers + Array(repeating: "pci", count: eal.allowedDevices)
            let plan = MemoryPlan(config: config, layout: layout, lcoreCount: eal.lcores?.count ?? layout.allLcores.count + 1, drivers: drivers)
            if plan.bytes > available {
                found.append("the mbuf pool needs about \(plan.bytes >> 20) MB (\(plan.mbufs) mbufs of \(plan.dataRoom) bytes) but EAL may use only \(available >> 20) MB: \(eal.noHuge ? "raise -m" : HugepageCheck.advice), or lower mbuf_pool_size")
            }
        }
        return found
    }
}
