import GLBCore

/// Checks, before EAL starts, that the memory EAL is asked to use exists, so that a missing
/// hugepage reservation is explained instead of surfacing as EAL's own error.
enum HugepageCheck {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static let advice = """
        reserve hugepages with `scripts/hugepages reserve 256` (256 pages of 2 MB; one port \
        with one queue needs about 40 MB), or run without them by adding `--no-huge -m 1024` \
        to the EAL options (before --)
        """

    /// The hugepages reserved on this host: every page size counts (EAL uses 1 GB pages
    /// too), not only the default one /proc/meminfo shows.
    struct Memory {
        var total = 0
        var free = 0
        var freeBytes = 0

        static func read() -> Memory {
            var m = Memory()
            for (size, bytes) in [("2048kB", 2 << 20), ("1048576kB", 1 << 30)] {
                let dir = "/sys/kernel/mm/hugepages/hugepages-\(size)"
                m.total += number(dir + "/nr_hugepages")
                let free = number(dir + "/free_hugepages")
                m.free += free
                m.freeBytes += free * bytes
            }
            return m
        }

        /// What EAL may allocate: `-m` when given, else the free hugepages; nil without
        /// hugepages or a size (EAL's own default then).
        func availableBytes(_ eal: EALOptions) -> Int? {
            if let mb = eal.memoryMB { return mb << 20 }
            return eal.noHuge || freeBytes == 0 ? nil : freeBytes
        }
    }

    static func check(_ eal: EALOptions, memory: Memory) throws(Problem) {
        if eal.noHuge { return }
        if memory.total == 0 {
            throw Problem(description: "no hugepages are reserved: \(advice)")
        }
        if memory.free == 0 {
            throw Problem(description: "all \(memory.total) hugepages are in use (by other DPDK processes?): \(advice)")
        }
        let mounts = String(decoding: (try? FileIO.read(path: "/proc/mounts", limit: 1 << 20)) ?? [], as: UTF8.self)
        if !eal.inMemory && !mounts.contains(" hugetlbfs ") {
            throw Problem(description: "hugepages are reserved but no hugetlbfs is mounted: run `scripts/hugepages reserve N` (it mounts /dev/hugepages) or add --in-memory to the EAL options")
        }
    }

    static func number(_ path: String) -> Int {
        guard let bytes = try? FileIO.read(path: path, limit: 1 << 16) else { return 0 }
        return Int(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map { $0.trimmingSpaces() } ?? "") ?? 0
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
