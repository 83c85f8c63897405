import GLBCore

#if canImport(Glibc)
import Glibc
#endif

/// Paths of the committed fixtures (Tests/Fixtures), found from this file's location so the
/// tests run from any working directory.
enum Fixtures {
    static let root: String = {
        var path = #filePath
        for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func compatCases() -> [String] {
        (0...11).map { String(format2($0)) }.map { "case\($0)" }
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/glbcore-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Names of the files left in the directory.
    func contents() -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func remove() {
        for name in contents() { unlink(file(name)) }
        rmdir(path)
    }
}

/// Builds forwarding-table JSON for tests.
enum TableJSON {
    static func backend(_ ip: String, state: String = "active", healthy: Bool? = true) -> String {
        let health = healthy.map { ", \"healthy\": \($0)" } ?? ""
        return "{\"ip\": \"\(ip)\", \"state\": \"\(state)\"\(health)}"
    }

    static func table(
        name: String = "web",
        hashKey: String = "00112233445566778899aabbccddeeff",
        seed: String = "0123456789abcdef0123456789abcdef",
        binds: [String] = ["{\"ip\": \"192.0.2.1\", \"proto\": \"tcp\", \"port\": 80}"],
        backends: [String]
    ) -> String {
        """
        {"name": "\(name)", "hash_key": "\(hashKey)", "seed": "\(seed)",
         "binds": [\(binds.joined(separator: ", "))],
         "backends": [\(backends.joined(separator: ", "))]}
        """
    }

    static func document(_ tables: [String]) -> String {
        "{\"tables\": [\(tables.joined(separator: ",\n"))]}"
    }

    static func decode(_ text: String, file: String = "test.json") throws(ConfigErrors) -> Loaded<ForwardingTableConfig> {
        try ForwardingTableConfig.decode(bytes: Array(text.utf8), file: file)
    }

    /// Every issue of a document, errors and warnings, whether it decodes or not.
    static func issues(_ text: String, file: String = "test.json") -> [ConfigIssue] {
        do { return try decode(text, file: file).warnings } catch { return error.issues }
    }

    /// `n` active, healthy IPv4 backends 10.x.y.z.
    static func activeBackends(_ n: Int, base: UInt32 = 0x0A00_0001) -> [String] {
        (0..<n).map { backend(IPAddress(ipv4: base &+ UInt32($0) &* 7919).description) }
    }
}
