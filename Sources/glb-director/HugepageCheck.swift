import GLBCore

/// Checks, before EAL starts, that the memory EAL is asked to use exists, so that a missing
/// hugepage reservation is explained instead of surfacing as EAL's own error.
enum HugepageCheck {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static let advice = """
        reserve hugepages with `scripts/hugepages reserve 256` (256 pages of 2 MB; the default \
        set-up needs about 150 MB), or run without them by adding `--no-huge -m 1024` to the \
        EAL options (before --)
        """

    static func check(ealArguments: [String]) throws(Problem) {
        if ealArguments.contains("--no-huge") { return }
        let meminfo = String(decoding: (try? FileIO.read(path: "/proc/meminfo", limit: 1 << 20)) ?? [], as: UTF8.self)
        let free = value(meminfo, "HugePages_Free") ?? 0
        let total = value(meminfo, "HugePages_Total") ?? 0
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

    static func value(_ meminfo: String, _ key: String) -> Int? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1).trimmingSpaces())
        }
        return nil
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
