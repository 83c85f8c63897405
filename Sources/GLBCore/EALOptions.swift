/// What the director can tell from DPDK EAL's command-line options before EAL runs: which
/// lcores it will have, how many ports it will find, where its files go and how much memory
/// it may use. EAL allocates hugepage files and a runtime folder as soon as it starts, and
/// keeps some when it then fails; checking these first means a mistake in director.conf or
/// the EAL options costs nothing. Anything not understood here is left for EAL itself:
/// every derived value is nil when it cannot be known for certain.
public struct EALOptions: Equatable, Sendable {
    /// The enabled lcores (`-l`, `--lcores`, `-c`); nil when not given in a form read here.
    public var lcores: [Int]?
    /// `--main-lcore`, else the lowest enabled lcore (EAL's rule).
    public var mainLcore: Int?
    public var filePrefix = "rte"
    public var inMemory = false
    public var noHuge = false
    public var noPCI = false
    /// `-m` in MB.
    public var memoryMB: Int?
    /// The drivers of the `--vdev` devices, in order ("net_af_packet", "net_null", ...).
    public var virtualDrivers: [String] = []
    /// `-a`/`--allow` devices.
    public var allowedDevices = 0
    /// Options DPDK 22.11 no longer accepts, with what replaced them.
    public var renamed: [String] = []

    /// Parses EAL's part of the command line (without the program name).
    public init(_ arguments: [String]) {
        var i = 0
        // "-l 0-3", "-l0-3", "--lcores=0-3" and "--lcores 0-3" are all EAL's.
        func value(_ long: String, _ short: String?) -> String? {
            let arg = arguments[i]
            if arg == long || arg == short {
                i += 1
                return i < arguments.count ? arguments[i] : nil
            }
            if arg.hasPrefix(long + "=") { return String(arg.dropFirst(long.count + 1)) }
            if let short, arg.hasPrefix(short), !arg.hasPrefix("--"), arg.count > short.count {
                return String(arg.dropFirst(short.count))
            }
            return nil
        }
        var explicitMain: Int?
        var lcoresKnown = true
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--master-lcore" || arg.hasPrefix("--master-lcore=") {
                renamed.append("--master-lcore was renamed --main-lcore in DPDK 20.11")
            } else if arg == "-w" || (arg.hasPrefix("-w") && !arg.hasPrefix("--")) || arg.hasPrefix("--pci-whitelist") {
                renamed.append("\(arg.hasPrefix("--") ? "--pci-whitelist" : "-w") was renamed -a (--allow) in DPDK 20.11")
            } else if arg.hasPrefix("--pci-blacklist") {
                renamed.append("--pci-blacklist was renamed -b (--block) in DPDK 20.11")
            } else if let list = value("--lcores", "-l") {
                let parsed = Self.lcoreList(list)
                lcores = parsed
                lcoresKnown = parsed != nil
            } else if let mask = value("--coremask", "-c") {
                let parsed = Self.coreMask(mask)
                lcores = parsed
                lcoresKnown = parsed != nil
            } else if let main = value("--main-lcore", nil) {
                explicitMain = Int(main)
            } else if let prefix = value("--file-prefix", nil) {
                filePrefix = prefix
            } else if let vdev = value("--vdev", nil) {
                virtualDrivers.append(String(vdev.prefix { $0 != "," }))
            } else if value("--allow", "-a") != nil {
                allowedDevices += 1
            } else if let mb = value("--memory", "-m") {
                memoryMB = Int(mb)
            } else if arg == "--in-memory" {
                inMemory = true
            } else if arg == "--no-huge" {
                noHuge = true
            } else if arg == "--no-pci" {
                noPCI = true
            }
            i += 1
        }
        if !lcoresKnown { lcores = nil }
        mainLcore = explicitMain ?? lcores?.min()
    }

    /// The ports EAL will create: one per virtual device, plus one per allowed PCI device;
    /// nil when EAL scans the PCI bus (its result cannot be known beforehand).
    public var portCount: Int? {
        guard noPCI || allowedDevices > 0 else { return nil }
        return virtualDrivers.count + allowedDevices
    }

    /// EAL's runtime folder for this instance.
    public var runtimeDirectory: String { "/var/run/dpdk/\(filePrefix)" }

    /// Why `filePrefix` will not work, if it will not: EAL names a Unix socket after it, and
    /// a socket's path holds at most 107 bytes (EAL then fails with a bare "No such file or
    /// directory").
    public var filePrefixProblem: String? {
        if filePrefix.isEmpty { return "--file-prefix is empty" }
        if filePrefix.contains("/") { return "--file-prefix \"\(filePrefix)\" contains \"/\"" }
        // The longest socket, made even with --in-memory: telemetry's <runtime dir>/dpdk_telemetry.v2.
        let longest = runtimeDirectory.utf8.count + "/dpdk_telemetry.v2".utf8.count
        if longest > 107 {
            let allowed = filePrefix.utf8.count - (longest - 107)
            return "--file-prefix \"\(filePrefix)\" is \(filePrefix.utf8.count) bytes; EAL's socket paths allow at most \(allowed)"
        }
        return nil
    }

    /// "0-3,5" or "0@0,1@1,2@1" (lcore@cpu); nil for lcore groups, which are not read here.
    static func lcoreList(_ text: String) -> [Int]? {
        guard !text.contains("(") else { return nil }
        var result: [Int] = []
        for item in text.split(separator: ",") {
            let lcorePart = item.split(separator: "@", maxSplits: 1).first ?? ""
            let bounds = lcorePart.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, let low = Int(bounds[0]) else { return nil }
            let high = bounds.count == 2 ? Int(bounds[1]) : low
            guard let high, low <= high, high < 1024 else { return nil }
            result += Array(low...high)
        }
        return result.isEmpty ? nil : Array(Set(result)).sorted()
    }

    /// A hexadecimal core mask ("0x3" or "3").
    static func coreMask(_ text: String) -> [Int]? {
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? String(text.dropFirst(2)) : text
        guard let mask = UInt64(digits, radix: 16), mask != 0 else { return nil }
        return (0..<64).filter { mask & (1 << UInt64($0)) != 0 }
    }
}
