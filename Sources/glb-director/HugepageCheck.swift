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

    static func check(ealArguments: [String]) throws(Problem) {
        if ealArguments.contains("--no-huge") { return }
        // Every page size counts (EAL uses 1 GB pages too), not only the default one /proc/meminfo shows.
        var total = 0, free = 0
        for size in ["2048kB", "1048576kB"] {
            let dir = "/sys/kernel/mm/hugepages/hugepages-\(size)"
            total += number(dir + "/nr_hugepages")
            free += number(dir + "/free_hugepages")
        }
        if total == 0 {
            throw Problem(description: "no hugepages are reserved: \(advice)")
        }
        if free == 0 {
            throw Problem(description: "all \(total) hugepages are in use (by other DPDK processes?): \(advice)")
        }
        let inMemory = ealArguments.contains("--in-memory")
        let mounts = String(decoding: (try? FileIO.read(path: "/proc/mounts", limit: 1 << 20)) ?? [], as: UTF8.self)
        if !inMemory && !mounts.contains(" hugetlbfs ") {
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
